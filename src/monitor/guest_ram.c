/* guest_ram.c - guest RAM in a memfd, firmware ROM (see guest_ram.h). */
#include "monitor/guest_ram.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>


int guest_ram_create(struct guest_ram *g, uint64_t ram_size, char *err, size_t errlen)
{
    memset(g, 0, sizeof(*g));
    g->memfd = memfd_create("morph-guest-ram", MFD_CLOEXEC);
    if (g->memfd < 0) {
        snprintf(err, errlen, "cannot create guest RAM: memfd_create: %s", strerror(errno));
        return -1;
    }
    if (ftruncate(g->memfd, (off_t)ram_size) < 0) {
        snprintf(err, errlen, "cannot size guest RAM to %llu MiB: %s",
                 (unsigned long long)(ram_size >> 20), strerror(errno));
        goto fail;
    }
    /* MAP_NORESERVE: a 3 GiB guest that touches little costs little. */
    void *p = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
                   g->memfd, 0);
    if (p == MAP_FAILED) {
        snprintf(err, errlen, "cannot map %llu MiB of guest RAM: %s",
                 (unsigned long long)(ram_size >> 20), strerror(errno));
        goto fail;
    }
    g->ram = p;
    g->ram_size = ram_size;
    g->mem.region[0] = (struct mem_region){ .gpa = 0, .size = ram_size, .host = g->ram };
    g->mem.count = 1;
    return 0;
fail:
    close(g->memfd);
    g->memfd = -1;
    return -1;
}

/* ROM regions go in front: the first matching region wins. */
static void insert_region_first(struct guest_memory *m, struct mem_region r)
{
    memmove(&m->region[1], &m->region[0], m->count * sizeof(m->region[0]));
    m->region[0] = r;
    m->count++;
}

static struct mem_region rom_region(const struct guest_ram *g, const struct firmware_mapping *m)
{
    return (struct mem_region){ .gpa = m->gpa, .size = m->size,
                                .host = g->rom + m->rom_offset, .readonly = true };
}

int guest_ram_add_rom(struct guest_ram *g, const uint8_t *image, size_t len,
                      const struct firmware_layout *layout, char *err, size_t errlen)
{
    if (g->rom || g->mem.count + 2 > MAX_MEM_REGIONS) {
        snprintf(err, errlen, "only one firmware ROM is supported");
        return -1;
    }
    if (layout->high.rom_offset + layout->high.size > len ||
        layout->low.rom_offset + layout->low.size > len) {
        snprintf(err, errlen, "firmware ROM layout exceeds the image");
        return -1;
    }
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        snprintf(err, errlen, "cannot map the firmware ROM: %s", strerror(errno));
        return -1;
    }
    memcpy(p, image, len);
    /* The engine drops guest writes to ROM; the host mapping being read-only
     * too turns an engine bug into a loud fault instead of a changed ROM. */
    mprotect(p, len, PROT_READ);
    g->rom = p;
    g->rom_size = len;

    insert_region_first(&g->mem, rom_region(g, &layout->low));
    insert_region_first(&g->mem, rom_region(g, &layout->high));
    return 0;
}

void guest_ram_destroy(struct guest_ram *g)
{
    if (g->ram)
        munmap(g->ram, g->ram_size);
    if (g->rom)
        munmap(g->rom, g->rom_size);
    if (g->ram && g->memfd >= 0)   /* a zeroed struct must not close fd 0 */
        close(g->memfd);
    memset(g, 0, sizeof(*g));
    g->memfd = -1;
}

const uint8_t *guest_ram_peek(const struct guest_ram *g, uint64_t gpa, size_t len)
{
    for (unsigned i = 0; i < g->mem.count; i++) {
        const struct mem_region *r = &g->mem.region[i];
        if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
            return r->host + (gpa - r->gpa);
    }
    return NULL;
}
