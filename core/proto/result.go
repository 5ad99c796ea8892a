package proto

import "errors"

import "strconv"

// ResultCode is an Aerospike result code as carried in a reply header: the
// one table of names and numbers the node uses.
type ResultCode uint8

// Result codes a server sends. Numbers are the protocol's; names follow
// Aerospike's documentation.
const (
	OK                   ResultCode = 0
	ServerError          ResultCode = 1
	KeyNotFound          ResultCode = 2
	GenerationError      ResultCode = 3
	ParameterError       ResultCode = 4
	KeyExists            ResultCode = 5
	BinExists            ResultCode = 6
	ClusterKeyMismatch   ResultCode = 7
	ServerMemError       ResultCode = 8
	Timeout              ResultCode = 9
	AlwaysForbidden      ResultCode = 10
	PartitionUnavailable ResultCode = 11
	BinTypeError         ResultCode = 12
	RecordTooBig         ResultCode = 13
	KeyBusy              ResultCode = 14
	ScanAbort            ResultCode = 15
	UnsupportedFeature   ResultCode = 16
	BinNotFound          ResultCode = 17
	DeviceOverload       ResultCode = 18
	KeyMismatch          ResultCode = 19
	InvalidNamespace     ResultCode = 20
	BinNameTooLong       ResultCode = 21
	FailForbidden        ResultCode = 22
	ElementNotFound      ResultCode = 23
	ElementExists        ResultCode = 24
	EnterpriseOnly       ResultCode = 25
	OpNotApplicable      ResultCode = 26
	FilteredOut          ResultCode = 27
	LostConflict         ResultCode = 28
	QueryEnd             ResultCode = 50
	SecurityNotSupported ResultCode = 51
	SecurityNotEnabled   ResultCode = 52
	InvalidCommand       ResultCode = 54
	InvalidField         ResultCode = 55
	IllegalState         ResultCode = 56
	NotAuthenticated     ResultCode = 80
	UDFBadResponse       ResultCode = 100
	BatchDisabled        ResultCode = 150
	BatchMaxRequests     ResultCode = 151
	BatchQueuesFull      ResultCode = 152
	GeoInvalidGeoJSON    ResultCode = 160
	IndexFound           ResultCode = 200
	IndexNotFound        ResultCode = 201
	IndexOOM             ResultCode = 202
	IndexNotReadable     ResultCode = 203
	IndexGeneric         ResultCode = 204
	IndexNameMaxLen      ResultCode = 205
	IndexMaxCount        ResultCode = 206
	QueryAborted         ResultCode = 210
	QueryQueueFull       ResultCode = 211
	QueryTimeout         ResultCode = 212
	QueryGeneric         ResultCode = 213
)

var resultNames = map[ResultCode]string{
	OK:                   "OK",
	ServerError:          "SERVER_ERROR",
	KeyNotFound:          "KEY_NOT_FOUND_ERROR",
	GenerationError:      "GENERATION_ERROR",
	ParameterError:       "PARAMETER_ERROR",
	KeyExists:            "KEY_EXISTS_ERROR",
	BinExists:            "BIN_EXISTS_ERROR",
	ClusterKeyMismatch:   "CLUSTER_KEY_MISMATCH",
	ServerMemError:       "SERVER_MEM_ERROR",
	Timeout:              "TIMEOUT",
	AlwaysForbidden:      "ALWAYS_FORBIDDEN",
	PartitionUnavailable: "PARTITION_UNAVAILABLE",
	BinTypeError:         "BIN_TYPE_ERROR",
	RecordTooBig:         "RECORD_TOO_BIG",
	KeyBusy:              "KEY_BUSY",
	ScanAbort:            "SCAN_ABORT",
	UnsupportedFeature:   "UNSUPPORTED_FEATURE",
	BinNotFound:          "BIN_NOT_FOUND",
	DeviceOverload:       "DEVICE_OVERLOAD",
	KeyMismatch:          "KEY_MISMATCH",
	InvalidNamespace:     "INVALID_NAMESPACE",
	BinNameTooLong:       "BIN_NAME_TOO_LONG",
	FailForbidden:        "FAIL_FORBIDDEN",
	ElementNotFound:      "FAIL_ELEMENT_NOT_FOUND",
	ElementExists:        "FAIL_ELEMENT_EXISTS",
	EnterpriseOnly:       "ENTERPRISE_ONLY",
	OpNotApplicable:      "OP_NOT_APPLICABLE",
	FilteredOut:          "FILTERED_OUT",
	LostConflict:         "LOST_CONFLICT",
	QueryEnd:             "QUERY_END",
	SecurityNotSupported: "SECURITY_NOT_SUPPORTED",
	SecurityNotEnabled:   "SECURITY_NOT_ENABLED",
	InvalidCommand:       "INVALID_COMMAND",
	InvalidField:         "INVALID_FIELD",
	IllegalState:         "ILLEGAL_STATE",
	NotAuthenticated:     "NOT_AUTHENTICATED",
	UDFBadResponse:       "UDF_BAD_RESPONSE",
	BatchDisabled:        "BATCH_DISABLED",
	BatchMaxRequests:     "BATCH_MAX_REQUESTS_EXCEEDED",
	BatchQueuesFull:      "BATCH_QUEUES_FULL",
	GeoInvalidGeoJSON:    "GEO_INVALID_GEOJSON",
	IndexFound:           "INDEX_FOUND",
	IndexNotFound:        "INDEX_NOTFOUND",
	IndexOOM:             "INDEX_OOM",
	IndexNotReadable:     "INDEX_NOTREADABLE",
	IndexGeneric:         "INDEX_GENERIC",
	IndexNameMaxLen:      "INDEX_NAME_MAXLEN",
	IndexMaxCount:        "INDEX_MAXCOUNT",
	QueryAborted:         "QUERY_ABORTED",
	QueryQueueFull:       "QUERY_QUEUEFULL",
	QueryTimeout:         "QUERY_TIMEOUT",
	QueryGeneric:         "QUERY_GENERIC",
}

// String returns the code's Aerospike name, or its number if it has none.
func (c ResultCode) String() string {
	if s, ok := resultNames[c]; ok {
		return s
	}
	return "RESULT_CODE_" + strconv.Itoa(int(c))
}

// Error lets a result code be returned as an error.
func (c ResultCode) Error() string { return c.String() }

// CodeOf returns the result code in err's chain, or otherwise when it
// carries none.
func CodeOf(err error, otherwise ResultCode) ResultCode {
	var c ResultCode
	if errors.As(err, &c) {
		return c
	}
	return otherwise
}
