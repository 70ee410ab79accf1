package ptpd

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/transport"
)

// Event messages are batched only with software timestamps: a NIC that
// holds one transmit timestamp in flight would stamp one Sync of a batch.
func TestEventBatchLen(t *testing.T) {
	assert.Equal(t, transport.EventBatchLen, eventBatchLen(ptp.TimestampingSoftware))
	assert.Equal(t, 1, eventBatchLen(ptp.TimestampingHardware))
	assert.Equal(t, 1, eventBatchLen(ptp.TimestampingOneStep))
}
