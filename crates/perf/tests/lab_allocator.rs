//! The lab's switching allocator: counting by default, dhat while heap
//! profiling, and blocks may cross from one path to the other. One test in
//! this binary (one dhat profiler per process). `scripts/memcheck.sh` runs
//! it under valgrind.

use kmidi_dsp::alloc_probe::count_allocations;
use kmidi_perf::alloc::{LabAllocator, heap_profiling, set_heap_profiling};

#[global_allocator]
static ALLOC: LabAllocator = LabAllocator;

#[test]
fn counts_then_profiles_then_counts_and_blocks_cross_paths() {
    // Counting path.
    let (v, stats) = count_allocations(|| vec![7u8; 100]);
    assert_eq!(stats.allocations, 1);
    assert_eq!(stats.bytes, 100);
    // Allocated before profiling, freed and grown during it.
    let mut before: Vec<u64> = (0..1000).collect();
    let early = Box::new([1u8; 64]);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("heap.json");
    set_heap_profiling(true);
    assert!(heap_profiling());
    let profiler = dhat::Profiler::builder().file_name(&path).build();
    drop(early);
    before.extend(0..100_000u64); // realloc of a block dhat never saw
    let during: Vec<String> = (0..100).map(|i| i.to_string()).collect();
    let mut grown = vec![0u32; 10];
    grown.resize(10_000, 1);
    let stats = dhat::HeapStats::get();
    drop(profiler);
    set_heap_profiling(false);
    assert!(stats.total_blocks >= 102, "{stats:?}");

    // Allocated during profiling, used and freed after it.
    assert_eq!(during.iter().map(|s| s.len()).sum::<usize>(), 190);
    grown.resize(100_000, 2);
    assert_eq!(grown[99_999], 2);
    drop(during);
    drop(grown);
    assert_eq!(before.len(), 101_000);
    drop(before);
    let (w, stats) = count_allocations(|| vec![1u16; 8]);
    assert_eq!(stats.allocations, 1);
    assert_eq!(v.len() + w.len(), 108);
    let json = std::fs::read_to_string(&path).unwrap();
    assert!(json.contains("\"dhatFileVersion\""));
}
