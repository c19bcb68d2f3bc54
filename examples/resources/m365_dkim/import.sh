# A domain whose DKIM configuration exists already is imported by its name.
terraform import m365_dkim.contoso contoso.com
