package dns

import (
	"fmt"
	"strings"
)

// DNSPod limits (tencentcloud_dnspod_record, https://registry.terraform.io/providers/tencentcloudstack/tencentcloud/latest/docs/resources/dnspod_record).
const (
	// DefaultDNSPodRecordLine is DNSPod's default resolution line.
	DefaultDNSPodRecordLine = "默认"
	// DefaultDNSPodTTLFloor is DNSPod's default (and the free plan's minimum) TTL.
	DefaultDNSPodTTLFloor = 600
	dnspodMaxTTL          = 604800
	dnspodMinMX           = 1
	dnspodMaxMX           = 20
)

// DNSPodRecord holds the arguments of one tencentcloud_dnspod_record resource.
type DNSPodRecord struct {
	Domain     string
	SubDomain  string
	RecordType string
	RecordLine string
	Value      string
	// MX is the MX priority (1–20) for MX records and 0 for every other type.
	MX  int64
	TTL int64
	// Weight is DNSPod's per-line load-balancing weight (enterprise plans), not the SRV weight
	// (which is part of Value); it is always nil here so the provider's default applies.
	Weight *int64
	Status string
	Remark string
}

// DNSPodOptions tune the DNSPod shape.
type DNSPodOptions struct {
	// RecordLine defaults to "默认".
	RecordLine string
	// TTLFloor raises lower TTLs (DNSPod plans have a minimum TTL); 0 means 600.
	TTLFloor int
}

// DNSPod shapes records for tencentcloud_dnspod_record, keyed by Record.Key. MX priorities are
// clamped to DNSPod's 1–20 (Microsoft's 0 becomes 1, as in Microsoft's own DNSPod guide); TTLs
// are raised to the floor; SRV values are "priority weight port target." (the DNSPod API stores
// FQDN targets with a trailing dot; the Terraform provider is diff-stable either way); CNAME and MX
// values have no trailing dot; TXT values are the raw text without quotes.
//
// The verification MX alternative (priority 32767) is left out: DNSPod cannot publish it, and a
// clamped copy would be a live MX pointing at an .invalid host. Use the verification TXT record.
func DNSPod(zone string, records []Record, opts DNSPodOptions) map[string]DNSPodRecord {
	zone = normalizeHost(zone)
	line := strings.TrimSpace(opts.RecordLine)
	if line == "" {
		line = DefaultDNSPodRecordLine
	}
	floor := opts.TTLFloor
	if floor <= 0 {
		floor = DefaultDNSPodTTLFloor
	}
	out := make(map[string]DNSPodRecord, len(records))
	for _, r := range records {
		typ := strings.ToUpper(r.Type)
		if typ == "MX" && r.Purpose == PurposeVerification {
			continue
		}
		name := r.Name
		if name == "" {
			name = "@"
		}
		ttl := r.TTL
		if ttl <= 0 {
			ttl = DefaultTTL
		}
		ttl = min(max(ttl, floor), dnspodMaxTTL)
		d := DNSPodRecord{
			Domain:     zone,
			SubDomain:  name,
			RecordType: typ,
			RecordLine: line,
			TTL:        int64(ttl),
			Status:     "ENABLE",
			Remark:     "m365: " + r.Purpose,
		}
		switch typ {
		case "MX":
			d.Value = normalizeHost(r.Value)
			d.MX = int64(min(max(r.Priority, dnspodMinMX), dnspodMaxMX))
		case "CNAME":
			d.Value = normalizeHost(r.Value)
		case "SRV":
			d.Value = fmt.Sprintf("%d %d %d %s.", r.Priority, r.Weight, r.Port, normalizeHost(r.Value))
		default:
			d.Value = r.Value
		}
		out[r.Key] = d
	}
	return out
}
