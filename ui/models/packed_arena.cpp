// SPDX-License-Identifier: Apache-2.0
#include "ui/models/packed_arena.h"

#include <cstdint>
#include <cstdlib>
#include <new>

#include <QtGlobal>
#ifdef Q_OS_UNIX
#include <sys/mman.h>
#endif

namespace bindery::ui {

namespace {
constexpr size_t kHeader = 64; // sizeof(Chunk) rounded up: blocks start cache-aligned

/// `bytes` (a multiple of `align`) aligned to `align`. Straight from the kernel where it can be:
/// a freed chunk goes back to the system at once, and chunks never compete with the heap's small
/// blocks (malloc would serve them from the heap once its mmap threshold has grown, leaving
/// holes the small blocks cannot use, or leave freed chunks resident).
void *mapAligned(size_t bytes, size_t align)
{
#ifdef Q_OS_UNIX
    const size_t span = bytes + align;
    void *raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return nullptr;
    const auto start = reinterpret_cast<std::uintptr_t>(raw);
    const std::uintptr_t aligned = (start + align - 1) & ~std::uintptr_t(align - 1);
    if (aligned > start)
        munmap(raw, aligned - start);
    const std::uintptr_t end = start + span;
    if (end > aligned + bytes)
        munmap(reinterpret_cast<void *>(aligned + bytes), end - (aligned + bytes));
    return reinterpret_cast<void *>(aligned);
#else
    return std::aligned_alloc(align, bytes);
#endif
}

void unmapAligned(void *memory, size_t bytes)
{
#ifdef Q_OS_UNIX
    munmap(memory, bytes);
#else
    Q_UNUSED(bytes);
    std::free(memory);
#endif
}
} // namespace

PackedArena::~PackedArena()
{
    clear();
}

PackedArena::Chunk *PackedArena::newChunk(size_t bytes)
{
    static_assert(sizeof(Chunk) <= kHeader);
    void *memory = mapAligned(bytes, kChunkBytes);
    if (!memory)
        throw std::bad_alloc();
    auto *chunk = new (memory) Chunk;
    chunk->bytes = bytes;
    chunk->used = kHeader;
    chunk->next = m_chunks;
    if (m_chunks)
        m_chunks->prev = chunk;
    m_chunks = chunk;
    m_bytes += bytes;
    return chunk;
}

void PackedArena::freeChunk(Chunk *chunk)
{
    if (chunk->prev)
        chunk->prev->next = chunk->next;
    else
        m_chunks = chunk->next;
    if (chunk->next)
        chunk->next->prev = chunk->prev;
    if (chunk == m_current)
        m_current = nullptr;
    const size_t bytes = chunk->bytes;
    m_bytes -= bytes;
    chunk->~Chunk();
    unmapAligned(chunk, bytes);
}

char *PackedArena::allocate(size_t n)
{
    if (n + kHeader > kChunkBytes) {
        // Larger than a chunk: a chunk of its own (its first kChunkBytes hold the block's start,
        // so release() finds the header the same way).
        const size_t bytes = (n + kHeader + kChunkBytes - 1) / kChunkBytes * kChunkBytes;
        Chunk *own = newChunk(bytes);
        own->used = bytes;
        own->live = 1;
        return reinterpret_cast<char *>(own) + kHeader;
    }
    if (!m_current || m_current->used + n > m_current->bytes) {
        Chunk *full = m_current;
        m_current = newChunk(kChunkBytes);
        if (full && full->live == 0)
            freeChunk(full);
    }
    char *block = reinterpret_cast<char *>(m_current) + m_current->used;
    m_current->used += n;
    ++m_current->live;
    return block;
}

void PackedArena::release(const char *block)
{
    if (!block)
        return;
    auto *chunk = reinterpret_cast<Chunk *>(reinterpret_cast<std::uintptr_t>(block)
                                            & ~std::uintptr_t(kChunkBytes - 1));
    if (--chunk->live == 0 && chunk != m_current)
        freeChunk(chunk);
}

void PackedArena::clear()
{
    while (m_chunks)
        freeChunk(m_chunks);
    m_current = nullptr;
}

} // namespace bindery::ui
