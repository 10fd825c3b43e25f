package shmpipe

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// tableBatches walks a table's chunks as record batches.
type tableBatches struct {
	*array.TableReader
	rows int64
}

func newTableBatches(table arrow.Table) tableBatches {
	return tableBatches{array.NewTableReader(table, -1), table.NumRows()}
}

func (t tableBatches) empty() bool { return t.rows == 0 }
