package sindex_test

import (
	"encoding/binary"
	"fmt"

	"github.com/skiffdb/skiff/core/internal/sindex"
	"github.com/skiffdb/skiff/core/proto"
	"github.com/skiffdb/skiff/sdk/storage"
)

// The life of a numeric index: created from the info command, maintained
// on writes, queried over some partitions and resumed.
func Example() {
	cat := sindex.NewCatalog()
	def, err := sindex.ParseCreate("sindex-create:ns=test;set=demo;indexname=age_idx;indexdata=age,NUMERIC")
	if err != nil {
		fmt.Printf("ERROR:%d:%v\n", sindex.ResultCode(err), err)
		return
	}
	idx, _ := cat.Create(def)

	// Writes: the keys of the bin before and after, then Update.
	integer := func(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }
	var d1, d2, d3 storage.Digest
	d1[0], d2[0], d3[0] = 1, 2, 3 // partitions 1, 2 and 3
	idx.Update(d1, nil, idx.Keys(nil, proto.ParticleInteger, integer(30)))
	idx.Update(d2, nil, idx.Keys(nil, proto.ParticleInteger, integer(41)))
	idx.Update(d3, nil, idx.Keys(nil, proto.ParticleInteger, integer(35)))
	// Record 3's bin becomes a string: its entry goes.
	idx.Update(d3, idx.Keys(nil, proto.ParticleInteger, integer(35)), idx.Keys(nil, proto.ParticleString, []byte("old")))

	// A query for 20 ≤ age ≤ 50 on partitions 1 and 2 (PID_ARRAY).
	var parts sindex.PartitionSet
	parts.Add(1)
	parts.Add(2)
	var resume sindex.Cursor
	idx.Range(20, 50, nil, &parts, func(bval int64, d storage.Digest) bool {
		fmt.Printf("partition %d, bval %d\n", d.Partition(), bval)
		resume.ResumeAfter(bval, d) // what the client would send back
		return false                // max-records reached after one
	})
	// The client resumes: DIGEST_ARRAY + BVAL_ARRAY for partition 1.
	idx.Range(20, 50, &resume, &parts, func(bval int64, d storage.Digest) bool {
		fmt.Printf("resumed: partition %d, bval %d\n", d.Partition(), bval)
		return true
	})
	entries, _ := idx.Stats()
	fmt.Println("entries:", entries)
	// Output:
	// partition 1, bval 30
	// resumed: partition 2, bval 41
	// entries: 2
}
