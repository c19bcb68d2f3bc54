# A domain already in the tenant is imported by its name.
terraform import m365_domain.company contoso.com
