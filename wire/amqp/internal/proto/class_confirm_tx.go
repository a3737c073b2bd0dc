package proto

// The confirm class (85), RabbitMQ's publisher confirms, and the tx class (90).

func newConfirmMethod(id uint16) Method {
	switch id {
	case 10:
		return &ConfirmSelect{}
	case 11:
		return &ConfirmSelectOk{}
	}
	return nil
}

func newTxMethod(id uint16) Method {
	switch id {
	case 10:
		return &TxSelect{}
	case 11:
		return &TxSelectOk{}
	case 20:
		return &TxCommit{}
	case 21:
		return &TxCommitOk{}
	case 30:
		return &TxRollback{}
	case 31:
		return &TxRollbackOk{}
	}
	return nil
}

// ConfirmSelect is confirm.select (85/10): put the channel in confirm mode.
type ConfirmSelect struct {
	NoWait bool
}

func (*ConfirmSelect) ClassID() uint16              { return ClassConfirm }
func (*ConfirmSelect) MethodID() uint16             { return 10 }
func (*ConfirmSelect) HasContent() bool             { return false }
func (*ConfirmSelect) name() string                 { return "confirm.select" }
func (m *ConfirmSelect) appendArgs(b []byte) []byte { return append(b, bit(m.NoWait, 0)) }

func (m *ConfirmSelect) decode(args []byte) error {
	var err error
	m.NoWait, err = decodeBit(args)
	return err
}

// ConfirmSelectOk is confirm.select-ok (85/11).
type ConfirmSelectOk struct{ noArgs }

func (*ConfirmSelectOk) ClassID() uint16  { return ClassConfirm }
func (*ConfirmSelectOk) MethodID() uint16 { return 11 }
func (*ConfirmSelectOk) HasContent() bool { return false }
func (*ConfirmSelectOk) name() string     { return "confirm.select-ok" }

// TxSelect is tx.select (90/10): put the channel in transaction mode.
type TxSelect struct{ noArgs }

func (*TxSelect) ClassID() uint16  { return ClassTx }
func (*TxSelect) MethodID() uint16 { return 10 }
func (*TxSelect) HasContent() bool { return false }
func (*TxSelect) name() string     { return "tx.select" }

// TxSelectOk is tx.select-ok (90/11).
type TxSelectOk struct{ noArgs }

func (*TxSelectOk) ClassID() uint16  { return ClassTx }
func (*TxSelectOk) MethodID() uint16 { return 11 }
func (*TxSelectOk) HasContent() bool { return false }
func (*TxSelectOk) name() string     { return "tx.select-ok" }

// TxCommit is tx.commit (90/20).
type TxCommit struct{ noArgs }

func (*TxCommit) ClassID() uint16  { return ClassTx }
func (*TxCommit) MethodID() uint16 { return 20 }
func (*TxCommit) HasContent() bool { return false }
func (*TxCommit) name() string     { return "tx.commit" }

// TxCommitOk is tx.commit-ok (90/21).
type TxCommitOk struct{ noArgs }

func (*TxCommitOk) ClassID() uint16  { return ClassTx }
func (*TxCommitOk) MethodID() uint16 { return 21 }
func (*TxCommitOk) HasContent() bool { return false }
func (*TxCommitOk) name() string     { return "tx.commit-ok" }

// TxRollback is tx.rollback (90/30).
type TxRollback struct{ noArgs }

func (*TxRollback) ClassID() uint16  { return ClassTx }
func (*TxRollback) MethodID() uint16 { return 30 }
func (*TxRollback) HasContent() bool { return false }
func (*TxRollback) name() string     { return "tx.rollback" }

// TxRollbackOk is tx.rollback-ok (90/31).
type TxRollbackOk struct{ noArgs }

func (*TxRollbackOk) ClassID() uint16  { return ClassTx }
func (*TxRollbackOk) MethodID() uint16 { return 31 }
func (*TxRollbackOk) HasContent() bool { return false }
func (*TxRollbackOk) name() string     { return "tx.rollback-ok" }
