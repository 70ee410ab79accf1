package auth

// DefaultSeqIDWindow is linuxptp's seqid_window when an association does
// not set one.
const DefaultSeqIDWindow = 3

// MaxSeqIDWindow is the largest seqid_window: half the sequenceId space,
// so that ahead and behind stay distinguishable.
const MaxSeqIDWindow = 0x7fff

// SecurityAssociation is one [security_association] of an sa_file: the
// security parameters that a port naming its SPP applies to every message
// it sends and receives (IEEE 1588-2019 16.14.2).
type SecurityAssociation struct {
	// SPP is the security parameter pointer that names the association
	// in a port's configuration and in every AUTHENTICATION TLV.
	SPP uint8
	// SeqIDWindow is how far the sequenceId of a Sync or Follow_Up may
	// run ahead of the last one accepted from the same sender; 0 turns
	// the replay check off.
	SeqIDWindow uint16
	// AllowMutable leaves correctionField out of the ICV (it is hashed as
	// zero), for paths with transparent clocks that cannot update the
	// TLV. It leaves correctionField unprotected.
	AllowMutable bool
	// Keys are the association's keys in file order.
	Keys []*Key
}

// Key returns the key with keyID id, or nil.
func (sa *SecurityAssociation) Key(id uint32) *Key {
	for _, k := range sa.Keys {
		if k.ID == id {
			return k
		}
	}
	return nil
}

// Database is the security association database of an sa_file, indexed
// by SPP.
type Database struct {
	sas [256]*SecurityAssociation
	n   int
}

// Lookup returns the association with the given SPP, or nil.
func (d *Database) Lookup(spp uint8) *SecurityAssociation {
	if d == nil {
		return nil
	}
	return d.sas[spp]
}

// Len returns the number of associations.
func (d *Database) Len() int {
	if d == nil {
		return 0
	}
	return d.n
}

// All returns the associations in SPP order.
func (d *Database) All() []*SecurityAssociation {
	var out []*SecurityAssociation
	if d == nil {
		return out
	}
	for _, sa := range d.sas {
		if sa != nil {
			out = append(out, sa)
		}
	}
	return out
}

// Add adds sa; it reports false when the SPP is already taken.
func (d *Database) Add(sa *SecurityAssociation) bool {
	if d.sas[sa.SPP] != nil {
		return false
	}
	d.sas[sa.SPP] = sa
	d.n++
	return true
}
