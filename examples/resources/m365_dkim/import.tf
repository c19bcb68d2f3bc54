# Terraform 1.5 and later: import in the plan, reviewed before apply. The id is the domain name.
import {
  to = m365_dkim.contoso
  id = "contoso.com"
}
