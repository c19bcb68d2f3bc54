# Terraform 1.5 and later: import in the plan, reviewed before apply. The id is the group's address.
import {
  to = m365_distribution_group.sales
  id = "sales@contoso.com"
}
