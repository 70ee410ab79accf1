// Package getopt reads command lines the way linuxptp's programs do with
// getopt(3): short options may be grouped (-2m), an option's argument may
// be attached (-ieth0) or follow (-i eth0), and "--name=value" or "--name
// value" are long options. It is shared by roko-ptpd, roko-pmc and
// roko-phc2sys so that all three read their flags alike.
package getopt

import (
	"fmt"
	"strings"
)

// Handlers receive what Parse finds. A nil Long or Positional makes such
// arguments an error.
type Handlers struct {
	// WithArg lists the short options that take an argument.
	WithArg string
	// Short is called for every short option, with its argument if it
	// takes one.
	Short func(opt byte, arg string) error
	// Long is called for "--name=value" and "--name value"; a name in
	// Flags is called with an empty value and takes none.
	Long  func(name, value string) error
	Flags []string
	// Positional is called for arguments that are not options.
	Positional func(arg string) error
}

// Parse walks args.
func Parse(args []string, h Handlers) error {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			for _, p := range args[i+1:] {
				if err := positional(h, p); err != nil {
					return err
				}
			}
			return nil
		}
		if strings.HasPrefix(a, "--") {
			if h.Long == nil {
				return fmt.Errorf("unknown option %s (see -h)", a)
			}
			name, val, ok := strings.Cut(a[2:], "=")
			if !ok && !contains(h.Flags, name) {
				if i+1 >= len(args) {
					return fmt.Errorf("option --%s needs a value", name)
				}
				i++
				val = args[i]
			}
			if err := h.Long(name, val); err != nil {
				return err
			}
			continue
		}
		if len(a) < 2 || a[0] != '-' {
			if err := positional(h, a); err != nil {
				return err
			}
			continue
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			var arg string
			if strings.IndexByte(h.WithArg, c) >= 0 {
				switch {
				case j+1 < len(a):
					arg = a[j+1:]
				case i+1 < len(args):
					i++
					arg = args[i]
				default:
					return fmt.Errorf("option -%c requires an argument", c)
				}
				j = len(a)
			}
			if err := h.Short(c, arg); err != nil {
				return err
			}
		}
	}
	return nil
}

func positional(h Handlers, a string) error {
	if h.Positional == nil {
		return fmt.Errorf("unexpected argument %q (options start with -; see -h)", a)
	}
	return h.Positional(a)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Invalid is getopt's complaint about an unknown short option.
func Invalid(c byte) error { return fmt.Errorf("invalid option -- '%c' (see -h)", c) }
