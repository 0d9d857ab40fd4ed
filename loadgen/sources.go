package loadgen

import (
	"fmt"
	"net/netip"
	"strings"
)

// ParseSources parses the -source flag of iolab load: "A-B", a range of
// IPv4 or IPv6 addresses, or a comma-separated list of them; at most
// 65,536.
func ParseSources(s string) ([]netip.Addr, error) {
	if s == "" {
		return nil, nil
	}
	var out []netip.Addr
	for _, part := range strings.Split(s, ",") {
		from, to, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := netip.ParseAddr(from)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = netip.ParseAddr(to); err != nil {
				return nil, err
			}
			if b.Less(a) || a.Is4() != b.Is4() {
				return nil, fmt.Errorf("%s: not a range", part)
			}
		}
		for x := a; ; x = x.Next() {
			out = append(out, x)
			if len(out) > 1<<16 {
				return nil, fmt.Errorf("more than %d addresses", 1<<16)
			}
			if x == b {
				break
			}
		}
	}
	return out, nil
}
