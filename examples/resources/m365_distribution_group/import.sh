# A group made in the Exchange admin centre or PowerShell is imported by its address.
terraform import m365_distribution_group.sales sales@contoso.com
