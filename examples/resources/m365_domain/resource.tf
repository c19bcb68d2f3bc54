resource "m365_domain" "company" {
  name = "contoso.com"

  # Applied by the first apply after the domain is verified (see m365_domain_verification).
  supported_services = ["Email"]
}

# Publish this TXT record at the zone apex, then verify with m365_domain_verification.
output "verification_txt" {
  value = m365_domain.company.verification_txt
}
