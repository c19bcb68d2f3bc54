# Terraform 1.5 and later: import in the plan, reviewed before apply. The id is the batch's name;
# give the same users in csv_wo or csv_file so that the plan adds or removes nobody.
import {
  to = m365_migration_batch.wave1
  id = "wave1"
}
