package doctor

import (
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/transport"
)

// PTP's UDP ports (IEEE 1588-2019 Annex C): event and general messages.
const (
	portEvent   = 319
	portGeneral = 320
)

// acceptFix is the rule that lets PTP in, for nftables and iptables.
const acceptFix = "accept PTP ahead of the rules that drop: nft insert rule inet filter input udp dport { 319, 320 } accept (iptables: iptables -I INPUT -p udp -m multiport --dports 319,320 -j ACCEPT)"

// firewallVerdict is what one ruleset says about UDP 319/320.
type firewallVerdict struct {
	rules       int      // rules seen
	drops       []string // rules that drop or reject 319 or 320
	accepts     [2]bool  // some rule accepts 319, 320
	restrictive []string // input policies and rules that drop whatever is not accepted
}

// firewall: no firewall rule drops PTP's UDP ports (the guide's tcpdump
// port 319 or port 320 shows what arrives; this shows what the host then
// drops). It reads nft list ruleset and iptables-save when they are
// installed; without them it asks the kernel which nftables tables
// exist.
func firewall(h Host, ports []port) Check {
	c := Check{Name: CheckFirewall}
	udp := len(ports) == 0 || slices.ContainsFunc(ports, func(p port) bool { return p.transport != ptp.ProtocolIEEE802_3 })
	if !udp {
		c.Status, c.Detail = Skip, "every port uses L2 (Ethernet), which IP firewalls do not filter"
		return c
	}
	var v firewallVerdict
	var read, cannot []string
	for _, src := range [][]string{{"nft", "list", "ruleset"}, {"iptables-save"}, {"ip6tables-save"}} {
		out, err := h.Command(src[0], src[1:]...)
		if errors.Is(err, exec.ErrNotFound) {
			continue
		}
		if err != nil {
			cannot = append(cannot, err.Error())
			continue
		}
		read = append(read, strings.Join(src, " "))
		v.read(string(out), src[0] == "nft")
	}
	if len(read) == 0 && len(cannot) == 0 {
		return firewallWithoutTools(h, c)
	}
	if len(cannot) > 0 && len(read) == 0 {
		c.Status, c.Detail = Warn, "cannot tell: "+strings.Join(cannot, "; ")
		c.Fix = "run roko-ptpctl doctor as root"
		return c
	}
	from := strings.Join(read, ", ")
	switch {
	case len(v.drops) > 0:
		c.Status = Fail
		c.Detail = fmt.Sprintf("%s: rules drop PTP's UDP ports: %s", from, strings.Join(v.drops, "; "))
		c.Fix = "remove them, or " + acceptFix
	case v.accepts[0] && v.accepts[1]:
		c.Status, c.Detail = Pass, from+": rules accept UDP 319 and 320"
	case len(v.restrictive) > 0:
		c.Status = Warn
		c.Detail = fmt.Sprintf("%s: the firewall drops what it does not accept (%s), and no rule accepts both UDP 319 and 320: PTP may not get through",
			from, strings.Join(v.restrictive, "; "))
		c.Fix = acceptFix
	case v.rules == 0:
		c.Status, c.Detail = Pass, from+": no firewall rules"
	default:
		c.Status, c.Detail = Pass, fmt.Sprintf("%s: %d rules, none drops UDP 319 or 320 and input is accepted by default", from, v.rules)
	}
	if len(cannot) > 0 {
		c.Detail += " (not read: " + strings.Join(cannot, "; ") + ")"
	}
	return c
}

// firewallWithoutTools judges a host with neither nft nor iptables-save
// by the tables the kernel holds.
func firewallWithoutTools(h Host, c Check) Check {
	var legacy []string
	for _, f := range []string{"/proc/net/ip_tables_names", "/proc/net/ip6_tables_names"} {
		if s, err := h.read(f); err == nil && s != "" {
			legacy = append(legacy, strings.Fields(s)...)
		}
	}
	var tables []transport.NftTable
	var err error
	if h.NftTables != nil {
		tables, err = h.NftTables()
	} else {
		err = errors.New("not asked")
	}
	switch {
	case err != nil:
		c.Status = Warn
		c.Detail = "cannot tell: neither nft nor iptables-save is installed, and nftables could not be asked: " + err.Error()
		c.Fix = "run as root, or install nftables and check: nft list ruleset | grep -E 'policy drop|319|320'"
	case len(tables) > 0 || len(legacy) > 0:
		var names []string
		for _, t := range tables {
			names = append(names, "nftables "+t.String())
		}
		for _, t := range legacy {
			names = append(names, "iptables "+t)
		}
		c.Status = Warn
		c.Detail = fmt.Sprintf("cannot tell: the kernel holds firewall tables (%s), but neither nft nor iptables-save is installed to read their rules", strings.Join(names, ", "))
		c.Fix = "install nftables (or iptables) and check: nft list ruleset | grep -E 'policy drop|319|320'"
	default:
		c.Status, c.Detail = Pass, "no nftables or iptables tables: nothing filters"
	}
	return c
}

// read takes in one ruleset, as nft list ruleset (nft) or iptables-save
// prints it.
func (v *firewallVerdict) read(text string, nft bool) {
	var table, chain string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(line, "#") {
			continue
		}
		if nft {
			switch {
			case f[0] == "table" && len(f) >= 3:
				table, chain = f[1]+" "+f[2], ""
				continue
			case f[0] == "chain" && len(f) >= 2:
				chain = f[1]
				continue
			case f[0] == "type" && slices.Contains(f, "hook"):
				hook := ""
				if i := slices.Index(f, "hook"); i+1 < len(f) {
					hook = f[i+1]
				}
				if (hook == "input" || hook == "prerouting") && strings.Contains(line, "policy drop") {
					v.restrictive = append(v.restrictive, fmt.Sprintf("%s chain %s: policy drop", table, chain))
				}
				continue
			case f[0] == "}" || f[0] == "{" || strings.HasSuffix(line, "{"):
				continue
			}
			v.rule(fmt.Sprintf("%s %s: %s", table, chain, line), f, nftVerdict(f))
			continue
		}
		switch {
		case strings.HasPrefix(f[0], "*"):
			table = f[0][1:]
		case strings.HasPrefix(f[0], ":") && len(f) >= 2:
			if (f[0] == ":INPUT" || f[0] == ":PREROUTING") && f[1] == "DROP" {
				v.restrictive = append(v.restrictive, fmt.Sprintf("%s %s policy DROP", table, f[0][1:]))
			}
		case f[0] == "-A":
			verdict := ""
			if i := slices.Index(f, "-j"); i >= 0 && i+1 < len(f) {
				verdict = strings.ToLower(f[i+1])
			}
			v.rule(line, f, verdict)
		}
	}
}

// nftVerdict is the verdict of an nft rule: its last accept, drop or
// reject.
func nftVerdict(f []string) string {
	for i := len(f) - 1; i >= 0; i-- {
		switch f[i] {
		case "accept", "drop", "reject":
			return f[i]
		}
	}
	return ""
}

// rule judges one rule by its fields and verdict.
func (v *firewallVerdict) rule(where string, f []string, verdict string) {
	v.rules++
	if verdict != "accept" && verdict != "drop" && verdict != "reject" {
		return // jumps, logs, counters: the chain they lead to decides
	}
	ports, named := destPorts(f)
	if !named {
		if verdict != "accept" && unconditional(f) {
			v.restrictive = append(v.restrictive, where)
		}
		return
	}
	if slices.Contains(f, "tcp") && !slices.Contains(f, "udp") {
		return
	}
	for i, p := range []int{portEvent, portGeneral} {
		if !ports(p) {
			continue
		}
		if verdict == "accept" {
			v.accepts[i] = true
		} else if !slices.Contains(v.drops, where) {
			v.drops = append(v.drops, where)
		}
	}
}

// unconditional reports whether a drop or reject rule matches every
// packet of its chain: nothing but the chain, counters, and the verdict.
func unconditional(f []string) bool {
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case "-A", "--reject-with", "type", "packets", "bytes":
			i++ // and its value
		case "-j", "drop", "reject", "DROP", "REJECT", "counter", "with", "icmp", "icmpx", "icmpv6", "tcp", "reset":
		default:
			return false
		}
	}
	return true
}

// destPorts finds the destination port match of a rule (nft's dport,
// iptables' --dport, --dports, --destination-port) and returns whether it
// holds a port; named is false when the rule matches no port.
func destPorts(f []string) (has func(int) bool, named bool) {
	var spec []string
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case "dport", "--dport", "--dports", "--destination-port", "--destination-ports":
			named = true
			if i+1 < len(f) && f[i+1] == "{" {
				for j := i + 2; j < len(f) && f[j] != "}"; j++ {
					spec = append(spec, f[j])
				}
			} else if i+1 < len(f) {
				spec = append(spec, f[i+1])
			}
		}
	}
	var ranges [][2]int
	for _, s := range spec {
		for _, item := range strings.Split(s, ",") {
			if item == "" {
				continue
			}
			if p := portNumber(item); p >= 0 {
				ranges = append(ranges, [2]int{p, p})
				continue
			}
			lo, hi, isRange := strings.Cut(item, "-")
			if !isRange {
				lo, hi, isRange = strings.Cut(item, ":")
			}
			a, b := portNumber(lo), portNumber(lo)
			if isRange {
				b = portNumber(hi)
			}
			if a >= 0 && b >= 0 {
				ranges = append(ranges, [2]int{a, b})
			}
		}
	}
	return func(p int) bool {
		return slices.ContainsFunc(ranges, func(r [2]int) bool { return r[0] <= p && p <= r[1] })
	}, named
}

// portNumber reads a port as a number or /etc/services' PTP names; -1
// for anything else.
func portNumber(s string) int {
	switch s {
	case "ptp-event":
		return portEvent
	case "ptp-general":
		return portGeneral
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}
