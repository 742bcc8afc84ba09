// Package sandboxnet links a sandbox's network namespace to the outside
// and keeps the host out of its reach (--sandbox-network isolated).
//
// Each environment gets a veth pair: "eth0" inside its namespace, with an
// address of its own from the link-local range and a default route to
// 169.254.1.1, and the host's end, named for the sluice instance, holding
// 169.254.1.1 and a route to the environment's address. The host forwards
// what the environment sends out and masquerades it as its own, as a NAT
// gateway does. One nftables table per instance (Host) loaded at start:
//
//   - input: nothing from the instance's environments reaches the host
//     itself (any of its addresses, its loopback behind them);
//   - forward: nothing from them reaches another environment's interface,
//     of this instance or another one;
//   - postrouting: what they send elsewhere leaves masqueraded.
//
// Host-global state is per instance and goes away by itself: interface
// names carry the instance's id, an address is taken only if its route can
// be added (the kernel refuses a second route to it: that is the lock
// between instances), and a veth pair, its routes and its addresses
// vanish with the environment's namespace, also after a crash. The table
// is replaced at the next start and removed at shutdown. Host enables
// IPv4 forwarding (net.ipv4.ip_forward), which it leaves on.
package sandboxnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Gateway is the host's address on every environment's link, and the
// environments' default route.
var Gateway = net.IPv4(169, 254, 1, 1).To4()

// Addresses of environments: 169.254.2.0 to 169.254.254.255 (link-local:
// routed nowhere beyond a link), but 169.254.169.0/24, which clouds use for
// their metadata service.
const (
	firstAddr = 2 << 8
	lastAddr  = 254<<8 | 255
)

// InsideName is the name of the environment's end of its link.
const InsideName = "eth0"

// Host is the network of one sluice instance's environments.
type Host struct {
	nft, table string
	prefix     string // the instance's interface name prefix

	mu       sync.Mutex
	nextIf   int    // names the next host-side interface
	nextAddr uint32 // the next address to try, an offset in 169.254.0.0/16
}

// ifSuffixDigits is how many hex digits after the prefix name an
// interface: "sl" + 8 hex digits of the instance + 5 = 15, the kernel's
// limit.
const ifSuffixDigits = 5

// Open enables IPv4 forwarding and replaces the instance's nftables table
// (a crash may have left it) with the filter and NAT of its environments,
// using the nft binary at nft. instance names the table and the host-side
// interfaces.
func Open(ctx context.Context, nft string, instance uint32) (*Host, error) {
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1\n"), 0o644); err != nil {
		return nil, fmt.Errorf("sandboxnet: enable IPv4 forwarding: %w", err)
	}
	h := &Host{
		nft:    nft,
		table:  fmt.Sprintf("sluice_%08x", instance),
		prefix: fmt.Sprintf("sl%08x", instance),
		// Instances start at different places of the range, so they
		// rarely have to skip each other's addresses.
		nextAddr: firstAddr + instance%(lastAddr-firstAddr),
	}
	// One transaction: create (so that delete cannot fail), delete, and
	// load anew.
	rules := fmt.Sprintf(`table inet %[1]s {}
delete table inet %[1]s
table inet %[1]s {
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "%[2]s*" meta l4proto tcp reject with tcp reset
		iifname "%[2]s*" reject
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		iifname "%[2]s*" oifname "sl*" reject
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		iifname "%[2]s*" oifname != "sl*" masquerade
	}
}
`, h.table, h.prefix)
	if err := h.run(ctx, rules); err != nil {
		return nil, err
	}
	return h, nil
}

// Table is the name of the instance's nftables table (family inet: the
// filter holds for IPv6 too, e.g. the links' IPv6 link-local addresses).
func (h *Host) Table() string { return h.table }

// Close removes the table (at shutdown, once no environment is left).
func (h *Host) Close(ctx context.Context) error {
	return h.run(ctx, fmt.Sprintf("table inet %[1]s {}\ndelete table inet %[1]s\n", h.table))
}

func (h *Host) run(ctx context.Context, rules string) error {
	cmd := exec.CommandContext(ctx, h.nft, "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("sandboxnet: nft: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// next returns the next interface name and address to try.
func (h *Host) next() (string, net.IP) {
	h.mu.Lock()
	defer h.mu.Unlock()
	name := fmt.Sprintf("%s%0*x", h.prefix, ifSuffixDigits, h.nextIf)
	h.nextIf = (h.nextIf + 1) % (1 << (4 * ifSuffixDigits))
	for {
		a := h.nextAddr
		h.nextAddr++
		if h.nextAddr > lastAddr {
			h.nextAddr = firstAddr
		}
		if a>>8 != 169 && a&0xff != 0 && a&0xff != 255 {
			return name, net.IPv4(169, 254, byte(a>>8), byte(a)).To4()
		}
	}
}

// attachTries bounds the names and addresses Attach tries.
const attachTries = 256

// Link is one environment's veth pair.
type Link struct {
	// Name is the host side's name, index its interface index.
	Name  string
	index int
	// Addr is the environment's address.
	Addr net.IP
}

// Attach links the network namespace of process pid (a process of the
// sandbox) to the host: a veth pair, its host end named for the instance
// with Gateway, its inside end eth0 with an address of its own, the routes
// both ways.
func (h *Host) Attach(pid int) (*Link, error) {
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		return nil, fmt.Errorf("sandboxnet: the sandbox's network namespace: %w", err)
	}
	defer ns.Close()
	for range attachTries {
		name, addr := h.next()
		l, err := h.attach(ns, name, addr)
		if errors.Is(err, unix.EEXIST) {
			continue // another environment's name or address, maybe another instance's
		}
		return l, err
	}
	return nil, errors.New("sandboxnet: no free interface name or address")
}

func (h *Host) attach(ns netns.NsHandle, name string, addr net.IP) (l *Link, err error) {
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: name},
		PeerName:      InsideName,
		PeerNamespace: netlink.NsFd(int(ns)),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return nil, fmt.Errorf("sandboxnet: add the veth pair %s: %w", name, err)
	}
	host, err := netlink.LinkByName(name)
	if err != nil {
		return nil, err
	}
	l = &Link{Name: name, index: host.Attrs().Index, Addr: addr}
	defer func() {
		if err != nil {
			l.Close()
		}
	}()
	if err := netlink.AddrAdd(host, &netlink.Addr{IPNet: hostNet(Gateway)}); err != nil {
		return l, fmt.Errorf("sandboxnet: address %s: %w", name, err)
	}
	if err := netlink.LinkSetUp(host); err != nil {
		return l, fmt.Errorf("sandboxnet: bring %s up: %w", name, err)
	}
	// The kernel refuses a second route to addr (EEXIST): the address
	// is this environment's now, whatever other instance runs.
	if err := netlink.RouteAdd(&netlink.Route{LinkIndex: host.Attrs().Index, Dst: hostNet(addr), Scope: netlink.SCOPE_LINK}); err != nil {
		return l, fmt.Errorf("sandboxnet: route to %s: %w", addr, err)
	}
	in, err := netlink.NewHandleAt(ns)
	if err != nil {
		return l, fmt.Errorf("sandboxnet: netlink in the sandbox: %w", err)
	}
	defer in.Close()
	eth, err := in.LinkByName(InsideName)
	if err != nil {
		return l, fmt.Errorf("sandboxnet: %s in the sandbox: %w", InsideName, err)
	}
	if err := in.AddrAdd(eth, &netlink.Addr{IPNet: hostNet(addr)}); err != nil {
		return l, fmt.Errorf("sandboxnet: address %s in the sandbox: %w", InsideName, err)
	}
	if err := in.LinkSetUp(eth); err != nil {
		return l, fmt.Errorf("sandboxnet: bring %s up in the sandbox: %w", InsideName, err)
	}
	idx := eth.Attrs().Index
	if err := in.RouteAdd(&netlink.Route{LinkIndex: idx, Dst: hostNet(Gateway), Scope: netlink.SCOPE_LINK}); err != nil {
		return l, fmt.Errorf("sandboxnet: route to the gateway in the sandbox: %w", err)
	}
	if err := in.RouteAdd(&netlink.Route{LinkIndex: idx, Gw: Gateway}); err != nil {
		return l, fmt.Errorf("sandboxnet: default route in the sandbox: %w", err)
	}
	return l, nil
}

// hostNet is ip/32.
func hostNet(ip net.IP) *net.IPNet { return &net.IPNet{IP: ip, Mask: net.CIDRMask(32, 32)} }

// Close removes the veth pair (both ends, their addresses and routes). A
// pair whose namespace is gone is gone already; an interface that took its
// name and index since is not touched.
func (l *Link) Close() {
	if l == nil {
		return
	}
	if link, err := netlink.LinkByIndex(l.index); err == nil && link.Attrs().Name == l.Name {
		_ = netlink.LinkDel(link)
	}
}
