# Terraform 1.5 and later: import in the plan, reviewed before apply. The id is the user
# principal name or the object id.
import {
  to = m365_user.it_admin
  id = "it.admin@contoso.com"
}
