# At cutover: the records Exchange Online needs, shaped for DNSPod, and Exmail's records to remove.
data "m365_dns_records" "cutover" {
  domain            = "contoso.com"
  stage             = "cutover"
  replaces          = "exmail"
  keep_spf_includes = [] # e.g. ["spf.mail.qq.com"] while Exmail still sends for some users

  # DMARC at _dmarc: start with "none" and reports, then "quarantine" (dmarc_pct 10 -> 100), then "reject".
  dmarc_policy = "none"
  dmarc_rua    = ["dmarc-reports@contoso.com"]
}

# The keys (mx, autodiscover, spf, dmarc, msoid for 21Vianet, dkim_selector1/2 once a DKIM
# configuration exists, ...) are known at plan time.
resource "tencentcloud_dnspod_record" "m365" {
  for_each = data.m365_dns_records.cutover.dnspod_records

  domain      = each.value.domain
  sub_domain  = each.value.sub_domain
  record_type = each.value.record_type
  record_line = each.value.record_line
  value       = each.value.value
  mx          = each.value.mx
  ttl         = each.value.ttl
  remark      = each.value.remark
}

# The same records for any other DNS host.
output "zone_file" {
  value = data.m365_dns_records.cutover.zone_file
}
