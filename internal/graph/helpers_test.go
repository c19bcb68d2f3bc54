package graph_test

import (
	"errors"

	"github.com/m365-migration/terraform-provider-m365/internal/graph"
)

func asGraphErr(err error, target **graph.Error) bool { return errors.As(err, target) }
