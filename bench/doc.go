// Package bench compares roko-ptpd's wire codec with facebook/time's
// ptp/protocol package on the same bytes. It is a module of its own so that
// the daemon's module never depends on facebook/time; nothing here ships.
//
// Run it from this directory:
//
//	go test -run '^$' -bench . -benchmem -count 10 | tee new.txt
//	benchstat -col /impl new.txt
package bench
