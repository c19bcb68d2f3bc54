# Reads and checks the IMAP migration CSV at every plan and apply; nothing of it is stored.
ephemeral "m365_imap_migration_csv" "wave1" {
  path     = "${path.module}/wave1.csv"
  encoding = "auto" # or "utf-8", "utf-16", "gb18030" (Excel and Tencent Exmail exports)
}

# Pass it on to a write-only attribute:
#   csv_wo = ephemeral.m365_imap_migration_csv.wave1.content
