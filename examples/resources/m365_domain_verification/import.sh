# A verified domain's verification is imported by the domain name.
terraform import m365_domain_verification.company contoso.com
