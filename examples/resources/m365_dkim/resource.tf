# DKIM for contoso.com: the first apply creates the signing configuration and publishes its two
# selector CNAMEs at DNSPod; the next apply enables signing once Microsoft sees them.
resource "m365_dkim" "contoso" {
  domain = "contoso.com"

  timeouts = {
    update = "2h" # Microsoft may take from minutes to days to see new CNAMEs
  }
}

# The keys (dkim_selector1, dkim_selector2) are known at plan time.
resource "tencentcloud_dnspod_record" "dkim" {
  for_each = m365_dkim.contoso.dnspod_records

  domain      = each.value.domain
  sub_domain  = each.value.sub_domain
  record_type = each.value.record_type
  record_line = each.value.record_line
  value       = each.value.value
  ttl         = each.value.ttl
  remark      = each.value.remark
}
