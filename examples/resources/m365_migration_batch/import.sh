# A batch made in the Exchange admin centre or PowerShell is imported by its name; give the
# same users in csv_wo or csv_file so that the next plan adds or removes nobody.
terraform import m365_migration_batch.wave1 wave1
