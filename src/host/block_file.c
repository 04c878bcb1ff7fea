/* block_file.c - raw image files and their I/O threads (see block_file.h). */
#include "host/block_file.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(char *err, size_t errlen, const char *path, const char *why)
{
    snprintf(err, errlen, "drive '%s': %s", path, why);
    return -1;
}

static int image_size(int fd, const struct stat *st, uint64_t *size)
{
    if (S_ISREG(st->st_mode)) {
        *size = (uint64_t)st->st_size;
        return 0;
    }
    return ioctl(fd, BLKGETSIZE64, size);
}

int block_file_open(struct block_file *bf, const char *path, bool readonly,
                    char *err, size_t errlen)
{
    memset(bf, 0, sizeof(*bf));
    bf->fd = -1;
    snprintf(bf->path, sizeof(bf->path), "%s", path);
    struct stat st;
    if (stat(path, &st) < 0)
        return fail(err, errlen, path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return fail(err, errlen, path, "is a directory");
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
        return fail(err, errlen, path, "not a regular file or block device");
    int fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0)
        return fail(err, errlen, path, strerror(errno));
    if (flock(fd, (readonly ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
        int e = errno;
        close(fd);
        return fail(err, errlen, path, e == EWOULDBLOCK
                    ? "in use by another process (locked)" : strerror(e));
    }
    uint64_t size;
    if (fstat(fd, &st) < 0 || image_size(fd, &st, &size) < 0) {
        int e = errno;
        close(fd);
        return fail(err, errlen, path, strerror(e));
    }
    if (size < 512) {
        close(fd);
        return fail(err, errlen, path, "smaller than one 512-byte sector");
    }
    bf->fd = fd;
    bf->size = size;
    bf->readonly = readonly;
    bf->can_discard = S_ISREG(st.st_mode) && !readonly;
    pthread_mutex_init(&bf->mutex, NULL);
    pthread_cond_init(&bf->cond, NULL);
    return 0;
}

/* preadv/pwritev until done: they may transfer less than asked. */
static int transfer(int fd, bool write, struct iovec *iov, int iovcnt, uint64_t offset)
{
    while (iovcnt > 0) {
        ssize_t n = write ? pwritev(fd, iov, iovcnt, (off_t)offset)
                          : preadv(fd, iov, iovcnt, (off_t)offset);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO;                /* past the end of the image */
        offset += (uint64_t)n;
        while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            iovcnt--;
        }
        if (iovcnt > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    return 0;
}

void block_file_run_job(const struct block_file *bf, struct block_job *job)
{
    switch (job->op) {
    case BLOCK_READ:
        job->result = transfer(bf->fd, false, job->iov, job->iovcnt, job->offset);
        break;
    case BLOCK_WRITE:
        job->result = transfer(bf->fd, true, job->iov, job->iovcnt, job->offset);
        break;
    case BLOCK_FLUSH:
        job->result = fdatasync(bf->fd) < 0 ? -errno : 0;
        break;
    case BLOCK_DISCARD:
        job->result = fallocate(bf->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                (off_t)job->offset, (off_t)job->len) < 0 ? -errno : 0;
        break;
    }
}

static void *worker(void *opaque)
{
    struct block_file *bf = opaque;
    pthread_mutex_lock(&bf->mutex);
    for (;;) {
        while (!bf->queue_head && !bf->stopping)
            pthread_cond_wait(&bf->cond, &bf->mutex);
        struct block_job *job = bf->queue_head;
        if (!job)
            break;                      /* stopping, queue empty */
        bf->queue_head = job->next;
        if (!bf->queue_head)
            bf->queue_tail = NULL;
        pthread_mutex_unlock(&bf->mutex);

        block_file_run_job(bf, job);

        pthread_mutex_lock(&bf->mutex);
        job->next = NULL;
        if (bf->done_tail)
            bf->done_tail->next = job;
        else
            bf->done_head = job;
        bf->done_tail = job;
        pthread_cond_broadcast(&bf->cond);      /* block_file_drain */
        pthread_mutex_unlock(&bf->mutex);
        if (bf->notify)
            bf->notify(bf->notify_opaque);
        pthread_mutex_lock(&bf->mutex);
    }
    pthread_mutex_unlock(&bf->mutex);
    return NULL;
}

int block_file_start(struct block_file *bf, void (*notify)(void *opaque), void *opaque,
                     char *err, size_t errlen)
{
    bf->notify = notify;
    bf->notify_opaque = opaque;
    for (unsigned i = 0; i < BLOCK_FILE_THREADS; i++) {
        int e = pthread_create(&bf->threads[i], NULL, worker, bf);
        if (e) {
            snprintf(err, errlen, "drive '%s': cannot start an I/O thread: %s", bf->path,
                     strerror(e));
            return -1;
        }
        bf->nthreads++;
    }
    return 0;
}

void block_file_submit(struct block_file *bf, struct block_job *job)
{
    job->next = NULL;
    pthread_mutex_lock(&bf->mutex);
    if (bf->queue_tail)
        bf->queue_tail->next = job;
    else
        bf->queue_head = job;
    bf->queue_tail = job;
    bf->in_flight++;
    pthread_cond_broadcast(&bf->cond);
    pthread_mutex_unlock(&bf->mutex);
}

struct block_job *block_file_reap(struct block_file *bf)
{
    pthread_mutex_lock(&bf->mutex);
    struct block_job *job = bf->done_head;
    if (job) {
        bf->done_head = job->next;
        if (!bf->done_head)
            bf->done_tail = NULL;
        bf->in_flight--;
    }
    pthread_mutex_unlock(&bf->mutex);
    return job;
}

/* Jobs on the done list count as finished. */
static unsigned done_count(const struct block_file *bf)
{
    unsigned n = 0;
    for (const struct block_job *j = bf->done_head; j; j = j->next)
        n++;
    return n;
}

void block_file_drain(struct block_file *bf)
{
    pthread_mutex_lock(&bf->mutex);
    if (bf->nthreads == 0) {
        /* No workers (tests): run the queue here. */
        while (bf->queue_head) {
            struct block_job *job = bf->queue_head;
            bf->queue_head = job->next;
            block_file_run_job(bf, job);
            job->next = NULL;
            if (bf->done_tail)
                bf->done_tail->next = job;
            else
                bf->done_head = job;
            bf->done_tail = job;
        }
        bf->queue_tail = NULL;
    }
    while (done_count(bf) < bf->in_flight)
        pthread_cond_wait(&bf->cond, &bf->mutex);
    pthread_mutex_unlock(&bf->mutex);
}

void block_file_close(struct block_file *bf)
{
    if (bf->fd < 0)
        return;
    pthread_mutex_lock(&bf->mutex);
    bf->stopping = true;
    pthread_cond_broadcast(&bf->cond);
    pthread_mutex_unlock(&bf->mutex);
    for (unsigned i = 0; i < bf->nthreads; i++)
        pthread_join(bf->threads[i], NULL);
    bf->nthreads = 0;
    close(bf->fd);      /* drops the flock */
    bf->fd = -1;
    pthread_cond_destroy(&bf->cond);
    pthread_mutex_destroy(&bf->mutex);
}
