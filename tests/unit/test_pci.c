/* test_pci.c - configuration mechanism #1, the host bridge and the device
 * API, driven through ports 0xCF8/0xCFC as a guest's PCI scan would. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "devices/bus.h"
#include "devices/pci.h"

struct rig {
    struct bus bus;
    struct pci_bus pci;
};

/* A device model as a later PCI device would embed it. */
struct test_nic {
    struct pci_device pdev;
    unsigned hook_calls;
    unsigned last_offset, last_len;
};

static void nic_config_written(struct pci_device *d, unsigned offset, unsigned len)
{
    struct test_nic *n = d->opaque;
    n->hook_calls++;
    n->last_offset = offset;
    n->last_len = len;
}

static void nic_init(struct test_nic *n)
{
    memset(n, 0, sizeof *n);
    pci_device_init(&n->pdev, "test-nic", 0x1af4, 0x1000, 0x01, 0x020000, 0x00);
    pci_set_bar(&n->pdev, 0, 4096, 0);
    pci_set_bar(&n->pdev, 1, 32, PCI_BAR_IO);
    pci_set8(&n->pdev, PCI_INTERRUPT_PIN, 1);
    n->pdev.config_written = nic_config_written;
    n->pdev.opaque = n;
}

static int rig_setup(void **state)
{
    static struct rig r;
    char err[128];
    memset(&r, 0, sizeof r);
    assert_int_equal(bus_init(&r.bus, "port", true), 0);
    assert_int_equal(pci_init(&r.pci, &r.bus, err, sizeof err), 0);
    *state = &r;
    return 0;
}

static int rig_teardown(void **state)
{
    struct rig *r = *state;
    bus_free(&r->bus);
    return 0;
}

static uint64_t in(struct rig *r, uint16_t port, unsigned size)
{
    uint64_t v = 0;
    bus_read(&r->bus, port, size, &v);
    return v;
}

static void out(struct rig *r, uint16_t port, unsigned size, uint64_t v)
{
    bus_write(&r->bus, port, size, v);
}

static uint32_t addr(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
    return 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (reg & 0xFC);
}

/* Config read the usual way: dword address, then data at reg & 3. */
static uint64_t cfg_read(struct rig *r, unsigned dev, unsigned fn, unsigned reg,
                         unsigned size)
{
    out(r, 0xCF8, 4, addr(0, dev, fn, reg));
    return in(r, (uint16_t)(0xCFC + (reg & 3)), size);
}

static void cfg_write(struct rig *r, unsigned dev, unsigned fn, unsigned reg,
                      unsigned size, uint64_t v)
{
    out(r, 0xCF8, 4, addr(0, dev, fn, reg));
    out(r, (uint16_t)(0xCFC + (reg & 3)), size, v);
}

/* ---- host bridge ---- */

static void host_bridge_ids_at_every_size(void **state)
{
    struct rig *r = *state;
    assert_int_equal(cfg_read(r, 0, 0, 0x00, 4), 0x12378086);
    assert_int_equal(cfg_read(r, 0, 0, 0x00, 2), 0x8086);
    assert_int_equal(cfg_read(r, 0, 0, 0x02, 2), 0x1237);
    assert_int_equal(cfg_read(r, 0, 0, 0x00, 1), 0x86);
    assert_int_equal(cfg_read(r, 0, 0, 0x01, 1), 0x80);
    assert_int_equal(cfg_read(r, 0, 0, 0x02, 1), 0x37);
    assert_int_equal(cfg_read(r, 0, 0, 0x03, 1), 0x12);
    assert_int_equal(cfg_read(r, 0, 0, 0x01, 2), 0x3780);   /* unaligned word */
    /* Class 06/00/00, revision 02; header type 0. */
    assert_int_equal(cfg_read(r, 0, 0, 0x08, 4), 0x06000002);
    assert_int_equal(cfg_read(r, 0, 0, 0x0A, 2), 0x0600);
    assert_int_equal(cfg_read(r, 0, 0, 0x0B, 1), 0x06);
    assert_int_equal(cfg_read(r, 0, 0, 0x0E, 1), 0x00);
    assert_int_equal(cfg_read(r, 0, 0, 0x04, 2), PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    /* A word at 0xCFF runs past the data window: its top byte is all ones. */
    assert_int_equal(cfg_read(r, 0, 0, 0x03, 2), 0xFF12);
}

static void read_only_fields_stay(void **state)
{
    struct rig *r = *state;
    cfg_write(r, 0, 0, 0x00, 4, 0xFFFFFFFF);
    cfg_write(r, 0, 0, 0x08, 4, 0);
    cfg_write(r, 0, 0, 0x0E, 1, 0x80);
    cfg_write(r, 0, 0, 0x04, 2, 0);
    cfg_write(r, 0, 0, 0x3C, 1, 0x0B);
    cfg_write(r, 0, 0, 0x50, 4, 0x12345678);
    assert_int_equal(cfg_read(r, 0, 0, 0x00, 4), 0x12378086);
    assert_int_equal(cfg_read(r, 0, 0, 0x08, 4), 0x06000002);
    assert_int_equal(cfg_read(r, 0, 0, 0x0E, 1), 0x00);
    assert_int_equal(cfg_read(r, 0, 0, 0x04, 2), 0x0006);
    assert_int_equal(cfg_read(r, 0, 0, 0x3C, 1), 0x00);
    assert_int_equal(cfg_read(r, 0, 0, 0x50, 4), 0);
}

/* ---- mechanism #1 ---- */

static void address_register_dword_only(void **state)
{
    struct rig *r = *state;
    out(r, 0xCF8, 4, 0xFFFFFFFF);
    assert_int_equal(in(r, 0xCF8, 4), 0x80FFFFFC);   /* reserved bits read 0 */
    out(r, 0xCF8, 4, addr(0, 3, 1, 0x40));
    assert_int_equal(in(r, 0xCF8, 4), addr(0, 3, 1, 0x40));
    /* Byte and word accesses are not config address accesses. */
    out(r, 0xCF8, 1, 0x00);
    out(r, 0xCF8, 2, 0x0000);
    assert_int_equal(in(r, 0xCF8, 4), addr(0, 3, 1, 0x40));
    assert_int_equal(in(r, 0xCF8, 1), 0xFF);
    assert_int_equal(in(r, 0xCF8, 2), 0xFFFF);
    /* 0xCF9-0xCFB are left to others. */
    uint64_t v;
    assert_false(bus_read(&r->bus, 0xCF9, 1, &v));
    assert_int_equal(v, 0xFF);
}

static void absent_devices_read_all_ones(void **state)
{
    struct rig *r = *state;
    assert_int_equal(cfg_read(r, 1, 0, 0x00, 4), 0xFFFFFFFF);
    assert_int_equal(cfg_read(r, 31, 7, 0x00, 2), 0xFFFF);
    assert_int_equal(cfg_read(r, 0, 1, 0x00, 1), 0xFF);    /* function 1 */
    out(r, 0xCF8, 4, addr(1, 0, 0, 0));                     /* bus 1 */
    assert_int_equal(in(r, 0xCFC, 4), 0xFFFFFFFF);
    cfg_write(r, 5, 0, 0x3C, 1, 0x0A);                      /* dropped quietly */
    assert_int_equal(cfg_read(r, 5, 0, 0x3C, 1), 0xFF);
}

static void enable_bit_off_reads_all_ones(void **state)
{
    struct rig *r = *state;
    out(r, 0xCF8, 4, addr(0, 0, 0, 0) & 0x7FFFFFFF);
    assert_int_equal(in(r, 0xCFC, 4), 0xFFFFFFFF);
    assert_int_equal(in(r, 0xCFE, 2), 0xFFFF);
    assert_int_equal(in(r, 0xCFD, 1), 0xFF);
    out(r, 0xCF8, 4, addr(0, 0, 0, 0));
    assert_int_equal(in(r, 0xCFC, 4), 0x12378086);
}

/* ---- device API ---- */

static void added_device_bars_masks_and_hook(void **state)
{
    struct rig *r = *state;
    struct test_nic n;
    char err[128];
    nic_init(&n);
    assert_int_equal(pci_add_device(&r->pci, PCI_DEVFN(3, 0), &n.pdev, err, sizeof err), 0);

    assert_int_equal(cfg_read(r, 3, 0, 0x00, 4), 0x10001af4);
    assert_int_equal(cfg_read(r, 3, 0, 0x3D, 1), 1);

    /* BAR sizing, the way firmware and Linux do it. */
    cfg_write(r, 3, 0, PCI_BAR0, 4, 0xFFFFFFFF);
    assert_int_equal(cfg_read(r, 3, 0, PCI_BAR0, 4), 0xFFFFF000);
    cfg_write(r, 3, 0, PCI_BAR0 + 4, 4, 0xFFFFFFFF);
    assert_int_equal(cfg_read(r, 3, 0, PCI_BAR0 + 4, 4), 0xFFFFFFE1);
    cfg_write(r, 3, 0, PCI_BAR0 + 8, 4, 0xFFFFFFFF);          /* unimplemented */
    assert_int_equal(cfg_read(r, 3, 0, PCI_BAR0 + 8, 4), 0);

    cfg_write(r, 3, 0, PCI_BAR0, 4, 0xFEB00000);
    cfg_write(r, 3, 0, PCI_BAR0 + 4, 4, 0xC040);
    assert_int_equal(pci_bar_address(&n.pdev, 0), 0xFEB00000);
    assert_int_equal(pci_bar_address(&n.pdev, 1), 0xC040);
    assert_int_equal(cfg_read(r, 3, 0, PCI_BAR0 + 4, 4), 0xC041);

    /* The hook sees each write; a byte write at 0xCFD covers reg+1. */
    unsigned calls = n.hook_calls;
    cfg_write(r, 3, 0, PCI_COMMAND + 1, 1, 0x04);
    assert_int_equal(n.hook_calls, calls + 1);
    assert_int_equal(n.last_offset, PCI_COMMAND + 1);
    assert_int_equal(n.last_len, 1);
    cfg_write(r, 3, 0, PCI_COMMAND, 2, 0xFFFF);
    assert_int_equal(cfg_read(r, 3, 0, PCI_COMMAND, 2), 0x0547);
    assert_int_equal(n.last_len, 2);

    /* Status error bits are write-1-to-clear. */
    pci_set16(&n.pdev, PCI_STATUS, 0x8010);          /* device-side: error + caps */
    cfg_write(r, 3, 0, PCI_STATUS, 2, 0x0000);
    assert_int_equal(cfg_read(r, 3, 0, PCI_STATUS, 2), 0x8010);
    cfg_write(r, 3, 0, PCI_STATUS, 2, 0x8010);
    assert_int_equal(cfg_read(r, 3, 0, PCI_STATUS, 2), 0x0010);

    cfg_write(r, 3, 0, PCI_INTERRUPT_LINE, 1, 0x0B);
    assert_int_equal(cfg_read(r, 3, 0, PCI_INTERRUPT_LINE, 1), 0x0B);
    cfg_write(r, 3, 0, PCI_INTERRUPT_PIN, 1, 0x04);
    assert_int_equal(cfg_read(r, 3, 0, PCI_INTERRUPT_PIN, 1), 0x01);
}

static void add_device_errors(void **state)
{
    struct rig *r = *state;
    struct test_nic n;
    char err[128] = "";
    nic_init(&n);
    assert_int_equal(pci_add_device(&r->pci, PCI_DEVFN(0, 0), &n.pdev, err, sizeof err), -1);
    assert_non_null(strstr(err, "host-bridge"));
    assert_int_equal(pci_add_device(&r->pci, 256, &n.pdev, err, sizeof err), -1);
    assert_non_null(strstr(err, "test-nic"));
    assert_int_equal(pci_add_device(&r->pci, PCI_DEVFN(31, 7), &n.pdev, err, sizeof err), 0);
    assert_int_equal(cfg_read(r, 31, 7, 0x00, 2), 0x1af4);
}

/* ---- reset, save, restore ---- */

static void reset_save_restore(void **state)
{
    struct rig *r = *state;
    struct test_nic n;
    char err[128];
    nic_init(&n);
    assert_int_equal(pci_add_device(&r->pci, PCI_DEVFN(2, 0), &n.pdev, err, sizeof err), 0);
    cfg_write(r, 2, 0, PCI_BAR0, 4, 0xFEB00000);
    cfg_write(r, 2, 0, PCI_BAR0 + 4, 4, 0xC000);
    cfg_write(r, 2, 0, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
    out(r, 0xCF8, 4, addr(0, 2, 0, PCI_BAR0));

    uint8_t blob[1024];
    size_t len = pci_save(&r->pci, NULL, 0);
    assert_true(len <= sizeof blob);
    assert_int_equal(pci_save(&r->pci, blob, sizeof blob), len);

    unsigned calls = n.hook_calls;
    pci_reset(&r->pci);
    assert_int_equal(n.hook_calls, calls + 1);
    assert_int_equal(n.last_len, PCI_CONFIG_SIZE);
    assert_int_equal(in(r, 0xCF8, 4), 0);
    assert_int_equal(cfg_read(r, 2, 0, PCI_BAR0, 4), 0);
    assert_int_equal(cfg_read(r, 2, 0, PCI_BAR0 + 4, 4), PCI_BAR_IO);  /* type bit stays */
    assert_int_equal(cfg_read(r, 2, 0, PCI_COMMAND, 2), 0);
    assert_int_equal(cfg_read(r, 0, 0, PCI_COMMAND, 2), 0x0006);
    assert_int_equal(cfg_read(r, 2, 0, 0x00, 4), 0x10001af4);

    assert_int_equal(pci_restore(&r->pci, blob, len), 0);
    assert_int_equal(in(r, 0xCF8, 4), addr(0, 2, 0, PCI_BAR0));
    assert_int_equal(in(r, 0xCFC, 4), 0xFEB00000);
    assert_int_equal(pci_bar_address(&n.pdev, 1), 0xC000);
    assert_int_equal(cfg_read(r, 2, 0, PCI_COMMAND, 2), PCI_COMMAND_IO | PCI_COMMAND_MEMORY);

    /* A blob from another machine is refused and changes nothing. */
    assert_int_equal(pci_restore(&r->pci, blob, len - 1), -1);
    uint8_t bad[1024];
    memcpy(bad, blob, len);
    bad[4 + 6 + 1 + 0] ^= 1;                   /* host bridge vendor ID */
    cfg_write(r, 2, 0, PCI_INTERRUPT_LINE, 1, 9);
    assert_int_equal(pci_restore(&r->pci, bad, len), -1);
    assert_int_equal(cfg_read(r, 2, 0, PCI_INTERRUPT_LINE, 1), 9);
}

#define T(f) cmocka_unit_test_setup_teardown(f, rig_setup, rig_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(host_bridge_ids_at_every_size),
        T(read_only_fields_stay),
        T(address_register_dword_only),
        T(absent_devices_read_all_ones),
        T(enable_bit_off_reads_all_ones),
        T(added_device_bars_masks_and_hook),
        T(add_device_errors),
        T(reset_save_restore),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
