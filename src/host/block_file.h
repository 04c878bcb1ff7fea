/* block_file.h - a raw disk image file and the host threads that do its I/O.
 *
 * block_file_open checks and locks the image: it must be a regular file
 * (or a block device) we can open read-write (read-only with `readonly`),
 * and no other morph may use it: flock LOCK_EX, or LOCK_SH when read-only,
 * never waiting.  Every failure is a one-line reason naming the file.
 *
 * Requests run on a small pool of host threads (preadv/pwritev/fdatasync/
 * fallocate), so the vCPU never blocks on the disk.  A finished request
 * goes on a done list and `notify` is called on the worker thread (the
 * monitor wakes the vCPU thread, which collects it with block_file_reap
 * under the device lock and completes it to the guest).  The iovecs point
 * into guest RAM: the worker reads and writes guest memory directly, as a
 * DMA engine would.
 */
#ifndef MORPH_HOST_BLOCK_FILE_H
#define MORPH_HOST_BLOCK_FILE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

enum block_op { BLOCK_READ, BLOCK_WRITE, BLOCK_FLUSH, BLOCK_DISCARD };

struct block_job {
    enum block_op op;
    uint64_t offset;                /* bytes */
    uint64_t len;                   /* BLOCK_DISCARD: bytes to punch */
    struct iovec *iov;              /* BLOCK_READ/WRITE */
    int iovcnt;
    int result;                     /* 0, or -errno; set by the worker */
    void *opaque;                   /* the submitter's request */
    struct block_job *next;         /* queue link (block_file's) */
};

#define BLOCK_FILE_THREADS 2

struct block_file {
    int fd;
    uint64_t size;                  /* bytes */
    bool readonly;
    bool can_discard;               /* a regular file: fallocate punches holes */
    char path[256];
    /* The pool. */
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    struct block_job *queue_head, *queue_tail;
    struct block_job *done_head, *done_tail;
    unsigned in_flight;             /* submitted, not yet reaped */
    bool stopping;
    pthread_t threads[BLOCK_FILE_THREADS];
    unsigned nthreads;
    void (*notify)(void *opaque);   /* any thread; may be NULL */
    void *notify_opaque;
};

/* Returns 0, or -1 with a one-line reason in err.  Starts no thread. */
int block_file_open(struct block_file *bf, const char *path, bool readonly,
                    char *err, size_t errlen);
/* Starts the worker threads.  Returns 0, or -1 with a reason in err. */
int block_file_start(struct block_file *bf, void (*notify)(void *opaque), void *opaque,
                     char *err, size_t errlen);
/* Queues a job (any thread). */
void block_file_submit(struct block_file *bf, struct block_job *job);
/* A finished job, or NULL. */
struct block_job *block_file_reap(struct block_file *bf);
/* Waits until every submitted job is finished (on the done list). */
void block_file_drain(struct block_file *bf);
/* Stops the threads (after finishing queued jobs) and closes the file. */
void block_file_close(struct block_file *bf);

/* Runs one job on the calling thread (what the workers do); for tests. */
void block_file_run_job(const struct block_file *bf, struct block_job *job);

#endif
