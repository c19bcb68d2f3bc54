# Terraform 1.5 and later: import in the plan, reviewed before apply. The id is the endpoint's name.
import {
  to = m365_imap_migration_endpoint.exmail
  id = "TencentExmail"
}
