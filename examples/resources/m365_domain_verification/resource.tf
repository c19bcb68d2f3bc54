# Add the domain, publish Microsoft's TXT record at DNSPod, then verify.
resource "m365_domain" "company" {
  name               = "contoso.com"
  supported_services = ["Email"]
}

# The keys of verification_records are known at plan time, so for_each works in the same run
# that adds the domain. Only the TXT can live at DNSPod (MX priorities stop at 20).
resource "tencentcloud_dnspod_record" "verification" {
  for_each = { for k, r in m365_domain.company.verification_records : k => r if k == "verification_txt" }

  domain      = m365_domain.company.name
  sub_domain  = each.value.name
  record_type = each.value.type
  record_line = "默认"
  value       = each.value.value
  ttl         = 600
}

resource "m365_domain_verification" "company" {
  domain = m365_domain.company.name

  # Retries until Microsoft sees the TXT record; DNSPod usually propagates within minutes.
  timeouts = {
    create = "30m"
  }

  depends_on = [tencentcloud_dnspod_record.verification]
}
