package fakecloud

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/m365-migration/terraform-provider-m365/internal/usercsv"
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

// csvDataParam decodes -CSVData (reference §2.1): the module's form
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

// parseMigrationCSV checks an IMAP migration CSV with usercsv.ParseMigration (header
// EmailAddress,UserName,Password[,UserRoot], at most 50,000 rows and 10 MB, one row per address).
// The fake refuses the whole CSV on any problem; the service may instead fail single rows
// (UNCONFIRMED). Problem texts never contain a password.
func parseMigrationCSV(data []byte) ([]csvRow, error) {
	res, err := usercsv.ParseMigration(data, usercsv.MigrationOptions{Name: "CSVData"})
	if err != nil {
		return nil, Invalid(exCSVValidation, err.Error())
	}
	if len(res.Problems) > 0 {
		const show = 10
		msgs := res.Problems.Strings()
		more := ""
		if len(msgs) > show {
			more = fmt.Sprintf(" (and %d more)", len(msgs)-show)
			msgs = msgs[:show]
		}
		return nil, Invalid(exCSVValidation, "The CSV file isn't valid: "+strings.Join(msgs, "; ")+more)
	}
	rows := make([]csvRow, 0, len(res.Rows))
	for _, r := range res.Rows {
		rows = append(rows, csvRow{EmailAddress: r.EmailAddress, UserName: r.UserName, Password: r.Password, UserRoot: r.UserRoot})
	}
	return rows, nil
}
