package ptpd

// busyWakes is the wake-up rate above which the event loop waits in the
// kernel rather than on the Go runtime's poller (and half of it, below
// which it goes back), when Options.KernelWait allows it; transport.Poller
// says what each wait costs.
//
// 100 a second is an average wait of 10 ms, sysmon's preemption period.
// Above it the waits seldom outlast sysmon, and waiting in the kernel
// saves the scheduler's four system calls a message: at 128 Hz the loop
// uses about ptp4l's CPU instead of twice it (scripts/cost.sh, README).
// Below it sysmon's wake-ups and preemption signals cost more than they
// save: at 16 Hz a client woke about 52 times a second and used half as
// much CPU again in the kernel wait, and at 1 Hz the poller costs almost
// nothing.
//
// Why waiting in the kernel is safe for the rest of the process: the loop
// yields (runtime.Gosched) before every such wait, so goroutines made ready
// meanwhile (signal delivery, a [phc2sys] job) run at least at the message
// rate; a wait that outlasts 10 ms is preempted by sysmon with a signal,
// which ends epoll_pwait with EINTR, so the garbage collector's
// stop-the-world and those goroutines get the P within about 10 ms; the
// UNIX sockets are served on the loop itself; and every socket is
// non-blocking, so no other raw call in the loop can sleep.
const busyWakes = 100
