/* machine_virtio.c - virtio devices of the machine (see machine_virtio.h). */
#include "monitor/machine_virtio.h"

#include <stdio.h>
#include <string.h>

#include "engine/soft/soft_engine.h"
#include "monitor/machine.h"
#include "monitor/pci_setup.h"

/* ---- interrupts: PCI INTx lines, shared and level ---- */

/* irq_set_fn for a PCI device: `irq` is its slot.  Lines are wired-OR. */
static void intx_set(void *opaque, unsigned slot, int level)
{
    struct machine *m = opaque;
    unsigned line = pci_setup_irq(slot);
    uint32_t *asserted = &m->dev.intx_asserted[line];
    *asserted = level ? (*asserted | 1u << slot) : (*asserted & ~(1u << slot));
    pic_set_irq(&m->dev.pic, line, *asserted != 0);
}

static struct irq_line intx_line(struct machine *m, unsigned slot)
{
    return (struct irq_line){ .set = intx_set, .opaque = m, .irq = slot };
}

/* ---- DMA: dropping decoded code where devices wrote ---- */

static void invalidate(struct machine *m, uint64_t gpa, uint64_t len)
{
    if (m->engine && m->engine_ops == &soft_engine_ops)
        soft_engine_invalidate_code(m->engine, gpa, len);
}

/* The engine runs on the vCPU thread: while that thread is here, it is not
 * running guest code. */
static bool on_vcpu_thread(const struct machine *m)
{
    return m->vcpu_thread_known && pthread_equal(pthread_self(), m->vcpu_thread);
}

/* The vCPU thread (engine stopped) drops the code at once; another thread
 * leaves the range for it (the engine may be running). */
static void on_dma_written(void *opaque, uint64_t gpa, uint64_t len)
{
    struct machine *m = opaque;
    if (!m->vcpu_thread_known || on_vcpu_thread(m)) {
        invalidate(m, gpa, len);
        return;
    }
    struct dma_dirty *d = &m->dma_dirty;
    if (d->count == DMA_DIRTY_SLOTS) {
        d->all = true;
    } else {
        d->gpa[d->count] = gpa;
        d->len[d->count] = len;
        d->count++;
    }
    m->service_pending = true;
    if (!m->vcpu_dispatching && m->engine)
        m->engine_ops->kick(m->engine);
}

static void flush_dma_dirty(struct machine *m)
{
    struct dma_dirty *d = &m->dma_dirty;
    if (d->all)
        invalidate(m, 0, m->ram.ram_size);
    else
        for (unsigned i = 0; i < d->count; i++)
            invalidate(m, d->gpa[i], d->len[i]);
    d->count = 0;
    d->all = false;
}

/* ---- host work ---- */

/* A disk worker finished a request (any thread, lock not held). */
static void request_service(void *opaque)
{
    struct machine *m = opaque;
    device_lock_host(&m->lock);
    m->service_pending = true;
    pthread_cond_broadcast(&m->irq_cond);
    if (!m->vcpu_dispatching && m->engine)
        m->engine_ops->kick(m->engine);
    device_unlock(&m->lock);
}

void machine_service(struct machine *m)
{
    if (!m->service_pending)
        return;
    m->service_pending = false;
    flush_dma_dirty(m);
    for (unsigned i = 0; i < m->dev.drives; i++)
        virtio_blk_service(&m->dev.blk[i]);
}

/* The backend's rx callback (event-loop thread). */
static bool net_rx(void *opaque, const uint8_t *frame, size_t len)
{
    struct machine *m = opaque;
    device_lock_host(&m->lock);
    bool taken = virtio_net_receive(&m->dev.net, frame, len);
    device_unlock(&m->lock);
    return taken;
}

/* The driver added rx buffers (vCPU thread, lock held): the backend is
 * asked from the event loop, outside the lock, as it may deliver at once. */
static void net_rx_resume(void *opaque)
{
    struct machine *m = opaque;
    m->net_rx_resume = true;
    if (m->loop)
        event_loop_wake(m->loop);
}

void machine_virtio_tick(struct machine *m)
{
    device_lock_host(&m->lock);
    bool resume = m->net_rx_resume;
    m->net_rx_resume = false;
    device_unlock(&m->lock);
    if (resume && m->dev.net_backend)
        net_backend_rx_resume(m->dev.net_backend);
}

/* ---- building ---- */

static int add_pci(struct machine *m, unsigned slot, struct pci_device *d, char *err,
                   size_t errlen)
{
    return pci_add_device(&m->dev.pci, PCI_DEVFN(slot, 0), d, err, errlen);
}

static const char *const drive_names[MAX_DRIVES] = {
    "virtio-blk0", "virtio-blk1", "virtio-blk2", "virtio-blk3",
};

static int init_drive(struct machine *m, unsigned i, char *err, size_t errlen)
{
    const struct drive_option *o = &m->opts->drive[i];
    struct machine_devices *d = &m->dev;
    if (block_file_open(&d->blk_file[i], o->file, o->readonly, err, errlen))
        return -1;
    d->drives = i + 1;                 /* destroy closes it from here on */
    char serial[VIRTIO_BLK_ID_BYTES + 1];
    snprintf(serial, sizeof(serial), "morph-disk%u", i);
    unsigned slot = PCI_SLOT_DRIVE0 + i;
    if (virtio_blk_init(&d->blk[i], drive_names[i], &d->blk_file[i], serial, &m->mmio, &d->dma,
                        intx_line(m, slot), err, errlen))
        return -1;
    return add_pci(m, slot, &d->blk[i].vp.pci, err, errlen);
}

int machine_virtio_init(struct machine *m, char *err, size_t errlen)
{
    struct machine_devices *d = &m->dev;
    d->dma = (struct guest_dma){ .ram = m->ram.ram, .size = m->ram.ram_size,
                                 .written = on_dma_written, .opaque = m };
    for (unsigned i = 0; i < m->opts->drives; i++)
        if (init_drive(m, i, err, errlen))
            return -1;
    if (m->opts->net.enabled) {
        virtio_net_init(&d->net, "virtio-net", m->opts->net.mac, &m->mmio, &d->dma,
                        intx_line(m, PCI_SLOT_NET));
        d->net.rx_resume = net_rx_resume;
        d->net.rx_resume_opaque = m;
        d->has_net = true;
        if (add_pci(m, PCI_SLOT_NET, &d->net.vp.pci, err, errlen))
            return -1;
    }
    virtio_rng_init(&d->rng, "virtio-rng", &m->mmio, &d->dma, intx_line(m, PCI_SLOT_RNG));
    if (add_pci(m, PCI_SLOT_RNG, &d->rng.vp.pci, err, errlen))
        return -1;
    if (pci_setup_assign(&d->pci, &m->io) < 0) {
        snprintf(err, errlen, "pci: the devices' BARs do not fit the PCI hole");
        return -1;
    }
    return 0;
}

int machine_virtio_start(struct machine *m, char *err, size_t errlen)
{
    struct machine_devices *d = &m->dev;
    for (unsigned i = 0; i < d->drives; i++)
        if (block_file_start(&d->blk_file[i], request_service, m, err, errlen))
            return -1;
    if (d->has_net) {
        d->net_backend = net_backend_open(m->opts->net.spec, m->loop, net_rx, m, err, errlen);
        if (!d->net_backend)
            return -1;
        d->net.backend = d->net_backend;
    }
    return 0;
}

/* After the event loop and the engine are gone. */
void machine_virtio_destroy(struct machine *m)
{
    struct machine_devices *d = &m->dev;
    if (d->net_backend)
        net_backend_close(d->net_backend);
    d->net_backend = NULL;
    for (unsigned i = 0; i < d->drives; i++) {
        block_file_close(&d->blk_file[i]);
        virtio_blk_destroy(&d->blk[i]);
    }
    d->drives = 0;
}
