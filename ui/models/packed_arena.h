// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>

#include <QtGlobal>

namespace bindery::ui {

/**
 * @brief Byte storage for the live table's packed rows: 1 MiB chunks filled in order and freed
 * when their last row is released.
 *
 * Rows come and go oldest first, so whole chunks empty out and go back at once: no per-row heap
 * block (a malloc header and rounding for each of 1M rows) and no fragmentation between
 * long-lived rows and the short-lived records they were packed from. A block larger than a chunk
 * gets a chunk of its own. Chunks are aligned to their size, so release() finds a block's chunk
 * from its address alone. Not thread-safe (the model's thread).
 */
class PackedArena final
{
    Q_DISABLE_COPY_MOVE(PackedArena)

public:
    static constexpr size_t kChunkBytes = size_t(1) << 20;

    PackedArena() = default;
    ~PackedArena();

    /// `n` bytes (n > 0), valid until release() or clear().
    char *allocate(size_t n);
    /// Gives back a block from allocate().
    void release(const char *block);
    /// Frees every chunk: every block is gone.
    void clear();
    /// Bytes of the chunks held.
    size_t bytesHeld() const { return m_bytes; }

private:
    struct Chunk
    {
        Chunk *prev = nullptr;
        Chunk *next = nullptr;
        size_t bytes = 0; ///< the whole allocation, this header included
        size_t used = 0;  ///< bytes given out, this header included
        size_t live = 0;  ///< blocks not yet released
    };
    Chunk *newChunk(size_t bytes);
    void freeChunk(Chunk *chunk);

    Chunk *m_current = nullptr; ///< where small blocks go
    Chunk *m_chunks = nullptr;  ///< every chunk held (a list)
    size_t m_bytes = 0;
};

} // namespace bindery::ui
