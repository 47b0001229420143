// player/malloc_policy.h — the player process's heap policy (glibc malloc).
//
// Why: every video item gets a fresh media pipeline (qml/MediaSlot.qml),
// whose new decoder/streaming threads allocate frame buffers in glibc's
// per-thread arenas. Freed, that memory stays in those arenas and RSS grew
// with every video played. Capping the arenas makes a later pipeline reuse
// what an earlier one freed. Soak (GStreamer, 640x360 videos, a third of
// the items), RSS growth from the 30th/60th to the 300th/600th transition:
// no cap +34 MB / 300; mallopt 2 arenas +3.0 MB / 300, +6.8 MB / 600;
// mallopt 1 arena +14.7 MB / 600; MALLOC_ARENA_MAX=1 in the environment
// +0.2 MB / 300. Not flat yet: docs/player.md.
// Video frames (video_pipeline.cpp: one QVideoFrame per decoded frame, 345 kB
// at 640x360, 3.1 MB at 1080p) are allocated on streaming threads and freed
// on the GUI or render thread. glibc's dynamic mmap threshold rises to the
// largest freed mmapped block, after which frames come from the arenas and
// fragment them; a fixed threshold keeps every frame-sized block mmapped and
// returned at free. Soak (1,500 transitions, growth from the 150th): +7.3 MB
// with the dynamic threshold, +4.1 MB with 256 kB (one run each).
// Free pages go back to the system after each pipeline's teardown
// (video_pipeline.cpp calls malloc_trim on the thread that tore it down).
// Invariant: called once, before the first video plays (Shell::load does).
#pragma once

namespace stoa::player {

// Caps glibc malloc arenas at `arenas` (no-op on other C libraries).
void limitMallocArenas(int arenas);

// Fixes glibc's mmap threshold at `bytes`: blocks at least that big are
// mmapped and unmapped at free (no-op on other C libraries, or when
// MALLOC_MMAP_THRESHOLD_ is set in the environment).
void mmapBlocksFrom(int bytes);

} // namespace stoa::player
