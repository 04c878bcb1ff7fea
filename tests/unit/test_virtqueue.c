/* test_virtqueue.c - split virtqueues: good chains, and every way a guest
 * can write a hostile one (loops, indexes and addresses out of range,
 * oversize lengths, a runaway avail index). */
#include <sys/mman.h>

#include "virtio_rig.h"

struct fix {
    struct ram_rig r;
    struct virtqueue vq;
    struct vq_chain c;
};

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof(*f));
    ram_rig_init(&f->r);
    vq_init(&f->vq, 64, &f->r.dma);
    f->vq.s.size = RIG_QSIZE;
    f->vq.s.desc = RIG_DESC;
    f->vq.s.avail = RIG_AVAIL;
    f->vq.s.used = RIG_USED;
    assert_true(vq_layout_ok(&f->vq));
    f->vq.s.enabled = 1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    ram_rig_free(&f->r);
    free(f);
    return 0;
}

static void empty_queue_pops_nothing(void **state)
{
    struct fix *f = *state;
    assert_int_equal(vq_pop(&f->vq, &f->c), VQ_EMPTY);
    f->vq.s.enabled = 0;
    offer(&f->r, 0);
    assert_int_equal(vq_pop(&f->vq, &f->c), VQ_EMPTY);     /* disabled queue */
}

static void readable_then_writable_chain(void **state)
{
    struct fix *f = *state;
    put_desc(&f->r, 3, 0x10000, 16, VRING_DESC_F_NEXT, 5);
    put_desc(&f->r, 5, 0x11000, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
    put_desc(&f->r, 1, 0x12000, 1, VRING_DESC_F_WRITE, 0);
    offer(&f->r, 3);
    assert_int_equal(vq_pop(&f->vq, &f->c), VQ_OK);
    assert_int_equal(f->c.head, 3);
    assert_int_equal(f->c.nout, 1);
    assert_int_equal(f->c.nin, 2);
    assert_int_equal(f->c.out_len, 16);
    assert_int_equal(f->c.in_len, 513);
    assert_int_equal(f->c.buf[1].gpa, 0x11000);
    assert_int_equal(f->c.buf[2].len, 1);
    assert_int_equal(vq_pop(&f->vq, &f->c), VQ_EMPTY);
    assert_int_equal(f->vq.s.last_avail, 1);
}

static void chain_as_long_as_the_queue_is_fine(void **state)
{
    struct fix *f = *state;
    for (unsigned i = 0; i < RIG_QSIZE; i++)
        put_desc(&f->r, i, 0x10000 + 0x100 * i, 0x100,
                 i + 1 < RIG_QSIZE ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
    offer(&f->r, 0);
    assert_int_equal(vq_pop(&f->vq, &f->c), VQ_OK);
    assert_int_equal(f->c.nout, RIG_QSIZE);
    assert_int_equal(f->c.out_len, 0x100 * RIG_QSIZE);
}

static void loop_is_broken(void **state)
{
    struct fix *f = *state;
    put_desc(&f->r, 0, 0x10000, 16, VRING_DESC_F_NEXT, 1);
    put_desc(&f->r, 1, 0x10010, 16, VRING_DESC_F_NEXT, 0);
    offer(&f->r, 0);
    assert_int_equal(vq_pop(&f->vq, &f->c), VQ_BROKEN);
}

static void self_loop_is_broken(void **state)
{
    struct fix *f = *state;
    put_desc(&f->r, 2, 0x10000, 16, VRING_DESC_F_NEXT, 2);
    offer(&f->r, 2);
    assert_int_equal(vq_pop(&f->vq, &f->c), VQ_BROKEN);
}

static void next_beyond_queue_is_broken(void **state)
{
    struct fix *f = *state;
    /* Index 8 is inside the 64-entry maximum but beyond the size in use. */
    put_desc(&f->r, 0, 0x10000, 16, VRING_DESC_F_NEXT, RIG_QSIZE);
    offer(&f->r, 0);
    assert_int_equal(vq_pop(&f->vq, &f->c), VQ_BROKEN);
}

static void head_beyond_queue_is_broken(void **state)
{
    struct fix *f = *state;
    offer(&f->r, 0xFFFF);
    assert_int_equal(vq_pop(&f->vq, &f->c), VQ_BROKEN);
    assert_int_equal(f->vq.s.last_avail, 0);               /* nothing consumed */
}

static void buffer_outside_ram_is_broken(void **state)
{
    struct fix *f = *state;
    put_desc(&f->r, 0, RIG_RAM - 4, 8, 0, 0);              /* straddles the end */
    offer(&f->r, 0);
    assert_int_equal(vq_pop(&f->vq, &f->c), VQ_BROKEN);
}

static void wrapping_address_is_broken(void **state)
{
    struct fix *f = *state;
    put_desc(&f->r, 0, UINT64_MAX - 0xF, 0x20, VRING_DESC_F_WRITE, 0);
    offer(&f->r, 0);
    assert_int_equal(vq_pop(&f->vq, &f->c), VQ_BROKEN);
}

static void writable_then_readable_is_broken(void **state)
{
    struct fix *f = *state;
    put_desc(&f->r, 0, 0x10000, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
    put_desc(&f->r, 1, 0x11000, 16, 0, 0);
    offer(&f->r, 0);
    assert_int_equal(vq_pop(&f->vq, &f->c), VQ_BROKEN);
}

static void indirect_is_refused(void **state)
{
    struct fix *f = *state;
    put_desc(&f->r, 0, 0x10000, 32, VRING_DESC_F_INDIRECT, 0);
    offer(&f->r, 0);
    assert_int_equal(vq_pop(&f->vq, &f->c), VQ_BROKEN);
}

/* An indirect table at gpa: n descriptors chained 0 -> 1 -> ... */
#define TABLE 0x8000u

static void put_table_desc(struct ram_rig *r, unsigned i, uint64_t addr, uint32_t len,
                           uint16_t flags, uint16_t next)
{
    uint8_t *d = r->ram + TABLE + 16 * i;
    memcpy(d, &addr, 8);
    memcpy(d + 8, &len, 4);
    memcpy(d + 12, &flags, 2);
    memcpy(d + 14, &next, 2);
}

static void indirect_table_when_negotiated(void **state)
{
    struct fix *f = *state;
    f->vq.indirect = true;
    put_table_desc(&f->r, 0, 0x10000, 16, VRING_DESC_F_NEXT, 1);
    put_table_desc(&f->r, 1, 0x11000, 4096, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
    put_table_desc(&f->r, 2, 0x12000, 1, VRING_DESC_F_WRITE, 0);
    put_desc(&f->r, 6, TABLE, 3 * 16, VRING_DESC_F_INDIRECT, 0);
    offer(&f->r, 6);
    assert_int_equal(vq_pop(&f->vq, &f->c), VQ_OK);
    assert_int_equal(f->c.head, 6);
    assert_int_equal(f->c.nout, 1);
    assert_int_equal(f->c.nin, 2);
    assert_int_equal(f->c.in_len, 4097);
    assert_int_equal(f->c.buf[2].gpa, 0x12000);
    /* A direct descriptor may lead to the indirect one. */
    put_desc(&f->r, 5, 0x13000, 8, VRING_DESC_F_NEXT, 6);
    offer(&f->r, 5);
    assert_int_equal(vq_pop(&f->vq, &f->c), VQ_OK);
    assert_int_equal(f->c.nout, 2);
    assert_int_equal(f->c.out_len, 24);
}

static void hostile_indirect_tables(void **state)
{
    struct fix *f = *state;
    f->vq.indirect = true;
    struct { uint64_t addr; uint32_t len; uint16_t flags; } bad[] = {
        { TABLE, 3 * 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT },   /* with NEXT */
        { TABLE, 3 * 16 + 8, VRING_DESC_F_INDIRECT },                  /* partial entry */
        { TABLE, 0, VRING_DESC_F_INDIRECT },                           /* empty */
        { RIG_RAM - 16, 32, VRING_DESC_F_INDIRECT },                   /* past RAM */
        { TABLE, (VQ_MAX_SIZE + 1) * 16, VRING_DESC_F_INDIRECT },      /* too many */
    };
    put_table_desc(&f->r, 0, 0x10000, 16, VRING_DESC_F_NEXT, 1);
    put_table_desc(&f->r, 1, 0x11000, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
    put_table_desc(&f->r, 2, 0x12000, 1, VRING_DESC_F_WRITE, 0);
    for (unsigned k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        put_desc(&f->r, 0, bad[k].addr, bad[k].len, bad[k].flags, 1);
        offer(&f->r, 0);
        if (vq_pop(&f->vq, &f->c) != VQ_BROKEN)
            fail_msg("bad indirect descriptor %u accepted", k);
        f->vq.s.last_avail = get16(&f->r, RIG_AVAIL + 2);
    }
    /* A loop inside the table. */
    put_desc(&f->r, 0, TABLE, 3 * 16, VRING_DESC_F_INDIRECT, 0);
    put_table_desc(&f->r, 2, 0x12000, 1, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
    offer(&f->r, 0);
    assert_int_equal(vq_pop(&f->vq, &f->c), VQ_BROKEN);
    f->vq.s.last_avail = get16(&f->r, RIG_AVAIL + 2);
    /* next beyond the table. */
    put_table_desc(&f->r, 2, 0x12000, 1, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
    offer(&f->r, 0);
    assert_int_equal(vq_pop(&f->vq, &f->c), VQ_BROKEN);
    f->vq.s.last_avail = get16(&f->r, RIG_AVAIL + 2);
    /* Indirect inside indirect. */
    put_table_desc(&f->r, 2, TABLE, 16, VRING_DESC_F_INDIRECT, 0);
    offer(&f->r, 0);
    assert_int_equal(vq_pop(&f->vq, &f->c), VQ_BROKEN);
    f->vq.s.last_avail = get16(&f->r, RIG_AVAIL + 2);
    /* A buffer in the table outside RAM. */
    put_table_desc(&f->r, 2, RIG_RAM, 1, VRING_DESC_F_WRITE, 0);
    offer(&f->r, 0);
    assert_int_equal(vq_pop(&f->vq, &f->c), VQ_BROKEN);
}

static void avail_index_jump_is_broken(void **state)
{
    struct fix *f = *state;
    put_desc(&f->r, 0, 0x10000, 16, 0, 0);
    put16(&f->r, RIG_AVAIL + 2, RIG_QSIZE);                 /* a full ring: fine */
    assert_int_equal(vq_pop(&f->vq, &f->c), VQ_OK);
    f->vq.s.last_avail = 0;
    put16(&f->r, RIG_AVAIL + 2, RIG_QSIZE + 1);             /* more than the ring holds */
    assert_int_equal(vq_pop(&f->vq, &f->c), VQ_BROKEN);
}

/* Lengths whose sum passes 4 GiB, in a (sparse) guest RAM large enough to
 * hold each buffer. */
static void length_sum_overflow_is_broken(void **state)
{
    struct fix *f = *state;
    uint64_t big = 8ull << 30;
    uint8_t *ram = mmap(NULL, big, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    assert_true(ram != MAP_FAILED);
    struct guest_dma dma = { .ram = ram, .size = big };
    memcpy(ram + RIG_DESC, f->r.ram + RIG_DESC, 0x3000);    /* same rings, bigger RAM */
    struct virtqueue vq = f->vq;
    vq.dma = &dma;
    uint8_t *d = ram + RIG_DESC;
    uint64_t addr[2] = { 0x10000000, 0x100000000 };
    for (unsigned i = 0; i < 2; i++, d += 16) {
        uint32_t len = 0xF0000000;
        uint16_t flags = i == 0 ? VRING_DESC_F_NEXT : 0, next = 1;
        memcpy(d, &addr[i], 8);
        memcpy(d + 8, &len, 4);
        memcpy(d + 12, &flags, 2);
        memcpy(d + 14, &next, 2);
    }
    uint16_t one = 1, head = 0;
    memcpy(ram + RIG_AVAIL + 4, &head, 2);
    memcpy(ram + RIG_AVAIL + 2, &one, 2);
    assert_int_equal(vq_pop(&vq, &f->c), VQ_BROKEN);
    munmap(ram, big);
}

static void layout_checks(void **state)
{
    struct fix *f = *state;
    struct virtqueue q = f->vq;
    q.s.size = 6;                                           /* not a power of two */
    assert_false(vq_layout_ok(&q));
    q.s.size = 128;                                         /* above the maximum */
    assert_false(vq_layout_ok(&q));
    q.s.size = 0;
    assert_false(vq_layout_ok(&q));
    q = f->vq;
    q.s.desc = RIG_DESC + 8;                                /* misaligned */
    assert_false(vq_layout_ok(&q));
    q = f->vq;
    q.s.used = RIG_RAM - 8;                                 /* runs past RAM */
    assert_false(vq_layout_ok(&q));
    q = f->vq;
    q.s.avail = UINT64_MAX - 1;
    assert_false(vq_layout_ok(&q));
}

static void push_publishes_used_entries(void **state)
{
    struct fix *f = *state;
    put_desc(&f->r, 4, 0x10000, 64, VRING_DESC_F_WRITE, 0);
    offer(&f->r, 4);
    assert_int_equal(vq_pop(&f->vq, &f->c), VQ_OK);
    assert_true(vq_push_chain(&f->vq, &f->c, 10));
    assert_int_equal(get16(&f->r, RIG_USED + 2), 1);
    assert_int_equal(get32le(&f->r, RIG_USED + 4), 4);      /* id */
    assert_int_equal(get32le(&f->r, RIG_USED + 8), 10);     /* len */
    assert_true(f->r.written_calls >= 2);                   /* buffer, ring */
    /* The used ring wraps at the queue size. */
    for (unsigned i = 1; i <= RIG_QSIZE; i++)
        assert_true(vq_push(&f->vq, (uint16_t)i, i));
    assert_int_equal(get16(&f->r, RIG_USED + 2), RIG_QSIZE + 1);
    assert_int_equal(get32le(&f->r, RIG_USED + 4), RIG_QSIZE);
}

static void interrupt_suppression(void **state)
{
    struct fix *f = *state;
    assert_true(vq_wants_interrupt(&f->vq));
    put16(&f->r, RIG_AVAIL, VRING_AVAIL_F_NO_INTERRUPT);
    assert_false(vq_wants_interrupt(&f->vq));
}

static void chain_copy_and_iov(void **state)
{
    struct fix *f = *state;
    memcpy(f->r.ram + 0x10000, "abcd", 4);
    memcpy(f->r.ram + 0x11000, "efgh", 4);
    put_desc(&f->r, 0, 0x10000, 4, VRING_DESC_F_NEXT, 1);
    put_desc(&f->r, 1, 0x11000, 4, VRING_DESC_F_NEXT, 2);
    put_desc(&f->r, 2, 0x12000, 3, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 3);
    put_desc(&f->r, 3, 0x13000, 3, VRING_DESC_F_WRITE, 0);
    offer(&f->r, 0);
    assert_int_equal(vq_pop(&f->vq, &f->c), VQ_OK);
    char buf[9] = { 0 };
    assert_int_equal(vq_chain_read(&f->c, &f->r.dma, 2, buf, 8), 6);   /* 6 bytes remain */
    assert_string_equal(buf, "cdefgh");
    assert_int_equal(vq_chain_write(&f->c, &f->r.dma, 1, "XYZW", 4), 4);
    assert_memory_equal(f->r.ram + 0x12001, "XY", 2);
    assert_memory_equal(f->r.ram + 0x13000, "ZW", 2);
    struct iovec iov[4];
    assert_int_equal(vq_chain_iov(&f->c, &f->r.dma, true, 2, 4, iov, 4), 2);
    assert_ptr_equal(iov[0].iov_base, f->r.ram + 0x12002);
    assert_int_equal(iov[0].iov_len, 1);
    assert_int_equal(iov[1].iov_len, 3);
    assert_int_equal(vq_chain_iov(&f->c, &f->r.dma, true, 0, 7, iov, 4), -1);  /* only 6 */
    assert_int_equal(vq_chain_iov(&f->c, &f->r.dma, false, 0, 8, iov, 1), -1); /* 2 needed */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(empty_queue_pops_nothing),
        T(readable_then_writable_chain),
        T(chain_as_long_as_the_queue_is_fine),
        T(loop_is_broken),
        T(self_loop_is_broken),
        T(next_beyond_queue_is_broken),
        T(head_beyond_queue_is_broken),
        T(buffer_outside_ram_is_broken),
        T(wrapping_address_is_broken),
        T(writable_then_readable_is_broken),
        T(indirect_is_refused),
        T(indirect_table_when_negotiated),
        T(hostile_indirect_tables),
        T(avail_index_jump_is_broken),
        T(length_sum_overflow_is_broken),
        T(layout_checks),
        T(push_publishes_used_entries),
        T(interrupt_suppression),
        T(chain_copy_and_iov),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
