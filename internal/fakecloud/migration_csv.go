package fakecloud

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/mail"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/unicode"
)

// csvRow is one accepted row of a migration CSV.
type csvRow struct {
	EmailAddress, UserName, Password, UserRoot string
}

// csvConversionError is PowerShell's binder error for CSVData. Unlike conversionError it never
// quotes the value: the CSV holds passwords.
func csvConversionError(why string) *ExoError {
	return Invalid(ParameterBinding, "Cannot process argument transformation on parameter 'CSVData'. Cannot convert "+
		"the value to type \"System.Byte[]\": "+why+". Send {\"@odata.type\":\"#Exchange.ByteArrayType\",\"Data\":[bytes]}.")
}

// csvDataParam decodes -CSVData (https://learn.microsoft.com/powershell/module/exchangepowershell/new-migrationbatch): the module's form
// {"@odata.type":"#Exchange.ByteArrayType","Data":[0..255,...]} or a base64 string (the form one
// C# client sends; UNCONFIRMED that the service accepts it). sent is false when the parameter is
// absent or null.
func csvDataParam(p Params) (data []byte, sent bool, err error) {
	v, ok := p.get("CSVData")
	if !ok || v == nil {
		return nil, false, nil
	}
	switch t := v.(type) {
	case string:
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(t))
		if err != nil {
			return nil, true, csvConversionError("the string is not base64")
		}
		return b, true, nil
	case map[string]any:
		sub := Params(t)
		if typ, _ := sub.get("@odata.type"); typ != nil {
			if ts, _ := typ.(string); !strings.EqualFold(strings.TrimPrefix(ts, "#"), "Exchange.ByteArrayType") {
				return nil, true, csvConversionError(fmt.Sprintf("the @odata.type %q is not #Exchange.ByteArrayType", ts))
			}
		}
		raw, ok := sub.get("Data")
		if !ok {
			return nil, true, csvConversionError("the object has no Data array")
		}
		list, ok := raw.([]any)
		if !ok {
			return nil, true, csvConversionError("Data is not an array of bytes")
		}
		out := make([]byte, len(list))
		for i, e := range list {
			n, ok := e.(json.Number)
			if !ok {
				return nil, true, csvConversionError(fmt.Sprintf("Data[%d] is not a number", i))
			}
			x, err := strconv.Atoi(n.String())
			if err != nil || x < 0 || x > 255 {
				return nil, true, csvConversionError(fmt.Sprintf("Data[%d] is not a byte (0 to 255)", i))
			}
			out[i] = byte(x)
		}
		return out, true, nil
	}
	return nil, true, csvConversionError("expected a ByteArrayType object or a base64 string")
}

// Limits of an IMAP migration CSV: "up to 50,000 rows ... and can be as large as 10 MB"
// (https://learn.microsoft.com/exchange/mailbox-migration/migrating-imap-mailboxes/csv-files-for-imap-migrations).
const (
	maxMigrationRows  = 50000
	maxMigrationBytes = 10 * 1024 * 1024
)

// migrationColumns are the CSV's attributes: the first three are required, UserRoot is optional.
var migrationColumns = []string{"EmailAddress", "UserName", "Password", "UserRoot"}

// csvInvalid is the 400 of a CSV the service refuses.
func csvInvalid(format string, args ...any) *ExoError {
	return Invalid(exCSVValidation, fmt.Sprintf(format, args...))
}

// decodeMigrationCSV turns CSVData into text: UTF-8 (with or without a BOM) or, with its BOM,
// UTF-16 ("Unicode" in Excel's Save As); the documentation asks for UTF-8 or Unicode when the
// file holds non-ASCII characters.
func decodeMigrationCSV(data []byte) (string, *ExoError) {
	var enc encoding.Encoding
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		enc = unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM)
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		enc = unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM)
	}
	if enc != nil {
		out, err := enc.NewDecoder().Bytes(data)
		if err != nil {
			return "", csvInvalid("The CSV file couldn't be read as Unicode (UTF-16) text. Save it as UTF-8 and re-submit it.")
		}
		data = out
	}
	data = bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF})
	if !utf8.Valid(data) {
		// UNCONFIRMED text: the service's answer to a file in another encoding (e.g. GBK) is not documented.
		return "", csvInvalid("The CSV file isn't valid UTF-8 text. Save it as UTF-8 or Unicode and re-submit it.")
	}
	return string(data), nil
}

// noteMigrationRows records the rows' addresses in the request log (RequestRecord.MigrationRows).
func (c *CmdletContext) noteMigrationRows(rows []csvRow) {
	if c.rec == nil {
		return
	}
	for _, r := range rows {
		c.rec.MigrationRows = append(c.rec.MigrationRows, r.EmailAddress)
	}
}

// parseMigrationCSV reads an IMAP migration CSV the way the service checks it
// (https://learn.microsoft.com/exchange/mailbox-migration/migrating-imap-mailboxes/csv-files-for-imap-migrations):
// a header row with EmailAddress, UserName and Password and optionally UserRoot, in any order and
// case, attribute names without spaces; unknown columns only with AllowUnknownColumnsInCsv; at
// most 50,000 rows and 10 MB; every row with the header's number of columns; one row per
// EmailAddress. The first problem refuses the whole CSV (the texts of empty files, too many rows,
// missing columns and wrong column counts are the EAC's, from
// https://learn.microsoft.com/exchange/troubleshoot/move-or-migrate-mailboxes/troubleshoot-issues-with-imap-mailbox-migration;
// the others are UNCONFIRMED). No text quotes a field other than a header name or a valid
// address, so a password never appears in an error.
func parseMigrationCSV(data []byte, allowUnknownColumns bool) ([]csvRow, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, csvInvalid("Upload file can't be empty.")
	}
	if len(data) > maxMigrationBytes {
		return nil, csvInvalid("The CSV file is larger than 10 MB. Please divide the file into two or more files and " +
			"submit them separately.") // UNCONFIRMED text
	}
	text, xe := decodeMigrationCSV(data)
	if xe != nil {
		return nil, xe
	}
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, csvInvalid("The header row of the CSV file couldn't be read. Please edit the CSV file and re-submit it.")
	}
	col := map[string]int{}
	for i, h := range header {
		name := strings.TrimSpace(h)
		canonical := ""
		for _, c := range migrationColumns {
			switch {
			case strings.EqualFold(name, c):
				canonical = c
			case strings.EqualFold(strings.Join(strings.Fields(name), ""), c):
				return nil, csvInvalid("Attribute names can't contain spaces: %q is invalid. You must use %q. Please edit "+
					"the CSV file and re-submit it.", name, c) // UNCONFIRMED text, modelled on the documentation
			}
		}
		if canonical == "" {
			if !allowUnknownColumns {
				return nil, csvInvalid("Column %d of the header row isn't one of EmailAddress, UserName, Password or "+
					"UserRoot. Remove it, or use AllowUnknownColumnsInCsv.", i+1) // UNCONFIRMED text
			}
			continue
		}
		if _, dup := col[canonical]; dup {
			return nil, csvInvalid("Column %q appears more than once in the CSV file. Please edit the CSV file and "+
				"re-submit it.", canonical) // UNCONFIRMED text
		}
		col[canonical] = i
	}
	for _, c := range migrationColumns[:3] {
		if _, ok := col[c]; !ok {
			return nil, csvInvalid("Column %q is missing from the CSV file. The import process can't continue because "+
				"this column is required. Please edit the CSV file and re-submit it.", c)
		}
	}
	var rows []csvRow
	seen := map[string]int{}
	for n := 2; ; n++ { // n: the row's number in the file, the header being row 1
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvInvalid("Row %d of the CSV file couldn't be read (a quote is misplaced). Please edit this row "+
				"and re-submit the file.", n) // UNCONFIRMED text
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		if len(rows) == maxMigrationRows {
			return nil, csvInvalid("The CSV file contains more than 50,000 rows. Please divide the file into two or more " +
				"files and submit them separately.")
		}
		if len(rec) != len(header) {
			return nil, csvInvalid("Row %d has the wrong number of columns. Expected number: %d. Actual number: %d. "+
				"Please edit this row and re-submit the file.", n, len(header), len(rec))
		}
		row := csvRow{
			EmailAddress: strings.TrimSpace(rec[col["EmailAddress"]]),
			UserName:     strings.TrimSpace(rec[col["UserName"]]),
			Password:     rec[col["Password"]],
		}
		if i, ok := col["UserRoot"]; ok {
			row.UserRoot = strings.TrimSpace(rec[i])
		}
		// UNCONFIRMED texts below.
		if _, err := mail.ParseAddress(row.EmailAddress); err != nil || strings.ContainsAny(row.EmailAddress, " <>") {
			return nil, csvInvalid("Row %d: the EmailAddress value isn't a valid SMTP address. Please edit this row and "+
				"re-submit the file.", n)
		}
		if row.UserName == "" || row.Password == "" {
			return nil, csvInvalid("Row %d: UserName and Password can't be empty. Please edit this row and re-submit the "+
				"file.", n)
		}
		key := strings.ToLower(row.EmailAddress)
		if first, dup := seen[key]; dup {
			return nil, csvInvalid("Rows %d and %d have the same EmailAddress %q. Each mailbox can be in the CSV file only "+
				"once. Please edit the CSV file and re-submit it.", first, n, row.EmailAddress)
		}
		seen[key] = n
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, csvInvalid("The CSV file has no rows after the header row. Add one row per mailbox and re-submit it.") // UNCONFIRMED text
	}
	return rows, nil
}
