package getopt

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	var got []string
	h := Handlers{
		WithArg: "if",
		Short: func(c byte, arg string) error {
			if c == 'x' {
				return Invalid(c)
			}
			got = append(got, string(c)+"="+arg)
			return nil
		},
		Long:       func(n, v string) error { got = append(got, "--"+n+"="+v); return nil },
		Flags:      []string{"json"},
		Positional: func(a string) error { got = append(got, "arg:"+a); return nil },
	}
	require.NoError(t, Parse([]string{"-2m", "-ieth0", "-i", "eth1", "-mf", "x.conf", "--a=1", "--b", "2", "--json", "GET X", "--", "-z"}, h))
	assert.Equal(t, []string{"2=", "m=", "i=eth0", "i=eth1", "m=", "f=x.conf", "--a=1", "--b=2", "--json=", "arg:GET X", "arg:-z"}, got)
	assert.ErrorContains(t, Parse([]string{"-x"}, h), "invalid option -- 'x'")
	assert.ErrorContains(t, Parse([]string{"-i"}, h), "option -i requires an argument")
	assert.ErrorContains(t, Parse([]string{"--b"}, h), "option --b needs a value")
	h.Positional, h.Long = nil, nil
	assert.ErrorContains(t, Parse([]string{"eth0"}, h), `unexpected argument "eth0"`)
	assert.ErrorContains(t, Parse([]string{"--a=1"}, h), "unknown option --a=1")
}
