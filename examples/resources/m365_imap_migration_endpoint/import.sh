# An endpoint made in the Exchange admin centre or PowerShell is imported by its name.
terraform import m365_imap_migration_endpoint.exmail TencentExmail
