package proto

// Frame types: the second byte of a frame header.
const (
	TypeInfo          = 1 // info request or reply: text lines
	TypeAdmin         = 2 // security (login, users): answered SECURITY_NOT_ENABLED
	TypeMsg           = 3 // AS_MSG: a record command and its reply
	TypeMsgCompressed = 4 // an AS_MSG frame compressed with zlib
)

// AdminHeaderSize is the length of a security command's header, after the
// frame header: its second byte is the result code, its third the command.
const AdminHeaderSize = 16

// Version is the only protocol version a frame may carry.
const Version = 2

// Sizes of the fixed parts of the protocol.
const (
	FrameHeaderSize = 8  // version(1) type(1) size(6, big-endian)
	MsgHeaderSize   = 22 // the AS_MSG header, after the frame header
	fieldHeaderSize = 5  // size(4) type(1)
	opHeaderSize    = 8  // size(4) op(1) particle type(1) version(1) name length(1)
	// MaxFrameSize is the largest size the 6-byte size field can carry.
	MaxFrameSize = 1<<48 - 1
)

// Info1 flags: what a command reads.
const (
	Info1Read             = 1 << 0 // the command reads
	Info1GetAll           = 1 << 1 // read all bins
	Info1ShortQuery       = 1 << 2
	Info1Batch            = 1 << 3 // a batch command
	Info1NoBinData        = 1 << 5 // read metadata only
	Info1ReadModeAPAll    = 1 << 6
	Info1CompressResponse = 1 << 7 // the client accepts a compressed reply
)

// Info2 flags: what a command writes and under which conditions.
const (
	Info2Write         = 1 << 0 // the command writes
	Info2Delete        = 1 << 1 // delete the record
	Info2Generation    = 1 << 2 // write only if the generation matches
	Info2GenerationGT  = 1 << 3 // write only if the sent generation is greater
	Info2DurableDelete = 1 << 4 // a delete leaves a tombstone
	Info2CreateOnly    = 1 << 5 // fail if the record exists
	Info2RelaxAPLong   = 1 << 6
	Info2RespondAllOps = 1 << 7 // return a result for every operation
)

// Info3 flags.
const (
	Info3Last            = 1 << 0 // the last message of a multi-message reply
	Info3CommitMaster    = 1 << 1
	Info3PartitionDone   = 1 << 2 // a scan/query partition is complete
	Info3UpdateOnly      = 1 << 3 // fail if the record does not exist; merge bins
	Info3CreateOrReplace = 1 << 4 // replace all bins, creating if needed
	Info3ReplaceOnly     = 1 << 5 // replace all bins; fail if the record does not exist
	Info3SCReadType      = 1 << 6
	Info3SCReadRelax     = 1 << 7
)

// Field types.
const (
	FieldNamespace       = 0
	FieldSet             = 1
	FieldKey             = 2
	FieldRecordVersion   = 3
	FieldDigest          = 4
	FieldMRTID           = 5
	FieldMRTDeadline     = 6
	FieldQueryID         = 7
	FieldSocketTimeout   = 9
	FieldRecordsPerSec   = 10
	FieldPIDArray        = 11
	FieldDigestArray     = 12
	FieldMaxRecords      = 13
	FieldBValArray       = 15
	FieldIndexName       = 21
	FieldIndexRange      = 22
	FieldIndexContext    = 23
	FieldIndexExpression = 24
	FieldIndexType       = 26
	FieldUDFPackage      = 30
	FieldUDFFunction     = 31
	FieldUDFArgList      = 32
	FieldUDFOp           = 33
	FieldQueryBinList    = 40
	FieldBatchIndex      = 41
	FieldBatchIndexSet   = 42
	FieldFilterExp       = 43
)

// Operation types.
const (
	OpRead      = 1
	OpWrite     = 2
	OpCDTRead   = 3
	OpCDTModify = 4
	OpAdd       = 5
	OpExpRead   = 7
	OpExpModify = 8
	OpAppend    = 9
	OpPrepend   = 10
	OpTouch     = 11
	OpBitRead   = 12
	OpBitModify = 13
	OpDelete    = 14
	OpHLLRead   = 15
	OpHLLModify = 16
)

// Particle types: the type of a bin value or key.
const (
	ParticleNull    = 0
	ParticleInteger = 1
	ParticleFloat   = 2
	ParticleString  = 3
	ParticleBlob    = 4
	ParticleBool    = 17
	ParticleHLL     = 18
	ParticleMap     = 19
	ParticleList    = 20
	ParticleGeoJSON = 23
)

// Batch entry flags: the byte after each digest of a batch-index field.
const (
	BatchRepeat = 0x1  // reuse the previous entry's namespace, set, attributes and operations
	BatchInfo   = 0x2  // info1, info2 and info3 follow (else info1 only)
	BatchGen    = 0x4  // a 16-bit generation follows
	BatchTTL    = 0x8  // a 32-bit TTL follows
	BatchInfo4  = 0x10 // info4 follows info3
)

// MaxBinNameLen is the longest bin name a record may have.
const MaxBinNameLen = 15

// TTL values with special meaning in a write's record TTL.
const (
	TTLNamespaceDefault = 0          // use the namespace's default-ttl
	TTLNeverExpire      = 0xFFFFFFFF // -1: the record never expires
	TTLDontUpdate       = 0xFFFFFFFE // -2: keep the record's expiry
)
