package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/m365-migration/terraform-provider-m365/internal/usercsv"
)

// The CSV of an m365_migration_batch as the configuration gives it: csv_wo, csv_file, or the
// Exmail members (migration_credentials.go).

// csvOptions are the CSV reading options of the batch: encoding and the staging domain rewrite.
func (m migrationBatchModel) csvOptions(name string) usercsv.MigrationOptions {
	return usercsv.MigrationOptions{Name: name, Encoding: m.CSVEncoding.ValueString(), Domain: m.Domain.ValueString()}
}

// batchCSV is the CSV of a batch as read from the configuration.
type batchCSV struct {
	res  *usercsv.MigrationResult
	attr path.Path
}

// loadCSV reads the CSV from csv_wo (config only: write-only) or csv_file. known is false when
// the value is not known yet (plan time) or the file does not exist yet (plan time only; an
// error at apply time).
func loadCSV(ctx context.Context, cfg tfsdk.Config, m migrationBatchModel, d *diagList, planning bool) (c *batchCSV, known bool) {
	if c, known, handled := loadExmailRows(ctx, cfg, m, d); handled { // Exmail credentials (migration_credentials.go)
		return c, known
	}
	if m.CSVEncoding.IsUnknown() || m.Domain.IsUnknown() {
		return nil, false
	}
	if !m.CSVFile.IsNull() {
		if m.CSVFile.IsUnknown() {
			return nil, false
		}
		p := m.CSVFile.ValueString()
		data, err := readMigrationFile(p)
		if err != nil {
			if planning {
				tflog.Warn(ctx, "the migration CSV file cannot be read at plan time; it is read again at apply", map[string]any{"csv_file": p, "error": err.Error()})
				d.AddAttributeWarning(path.Root("csv_file"), "Migration CSV Not Readable Yet",
					fmt.Sprintf("While planning, the file %s could not be read (%s). The members are known after apply, and the CSV is checked then.", p, err))
				return nil, false
			}
			d.AddAttributeError(path.Root("csv_file"), "Cannot Read Migration CSV",
				fmt.Sprintf("While reading the migration CSV for the batch, the file could not be opened.\n\nCause: %s\n\nCheck csv_file (relative paths are relative to the directory Terraform runs in).", err))
			return nil, true
		}
		res, ok := parseMigrationCSV(d, path.Root("csv_file"), data, m.csvOptions(p))
		if !ok {
			return nil, true
		}
		return &batchCSV{res: res, attr: path.Root("csv_file")}, true
	}
	var wo types.String
	d.Append(cfg.GetAttribute(ctx, path.Root("csv_wo"), &wo)...)
	if d.HasError() {
		return nil, true
	}
	if wo.IsUnknown() {
		return nil, false
	}
	if wo.IsNull() {
		if planning {
			// Not readable here (a Terraform version that does not send write-only values at plan
			// time): the apply reads and checks it.
			return nil, false
		}
		d.AddAttributeError(path.Root("csv_wo"), "Missing Migration CSV",
			"While applying the migration batch, csv_wo was empty.\n\nWrite-only attributes need Terraform 1.11 or later; give the CSV through csv_wo (e.g. ephemeral.m365_imap_migration_csv.x.content) or csv_file.")
		return nil, true
	}
	res, ok := parseMigrationCSV(d, path.Root("csv_wo"), []byte(wo.ValueString()), m.csvOptions("csv_wo"))
	if !ok {
		return nil, true
	}
	return &batchCSV{res: res, attr: path.Root("csv_wo")}, true
}
