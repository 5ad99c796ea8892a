package record

import (
	"github.com/skiffdb/skiff/core/proto"
)

// MaxTTL is the longest TTL a record may have: ten years, as in Aerospike.
const MaxTTL = 10 * 365 * 24 * 3600

// voidTime returns the expiry of a record written with the record TTL ttl
// from a command, given its current expiry (oldVoid, meaningful when
// existed). It refuses TTLs beyond MaxTTL, and TTLs that could never be
// enforced because the namespace removes no expired records.
func (ns *Namespace) voidTime(ttl uint32, c clock, oldVoid uint32, existed bool) (uint32, proto.ResultCode) {
	var seconds uint32
	cfg := ns.Config()
	switch {
	case ttl == proto.TTLNeverExpire:
		return 0, proto.OK
	case ttl == proto.TTLDontUpdate && existed:
		return oldVoid, proto.OK
	case ttl == proto.TTLNamespaceDefault || ttl == proto.TTLDontUpdate:
		seconds = uint32(cfg.DefaultTTL.Seconds())
	case ttl > MaxTTL:
		return 0, proto.ParameterError
	default:
		seconds = ttl
	}
	if seconds == 0 {
		return 0, proto.OK
	}
	if cfg.NsupPeriod == 0 && !cfg.AllowTTLWithoutNsup {
		return 0, proto.FailForbidden
	}
	return c.voidNow + seconds, proto.OK
}

// nextGeneration is the generation after g. Generations are 16 bits on the
// wire of a batch write, so they wrap from 65535 to 1 as Aerospike's do.
func nextGeneration(g uint32) uint32 {
	if g >= 0xFFFF {
		return 1
	}
	return g + 1
}
