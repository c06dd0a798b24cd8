/*
 * SPDX-License-Identifier: MIT
 *
 * kmod-ssdt.asl - the VMClock devices the kmod e2e guest sees, plus a
 * doorbell the host rings to deliver Notify (VCLK, 0x80) at any time.
 *
 * Pages are ordinary guest RAM the kernel is told to leave alone
 * (memmap=20K$0x1f000000).  Not 0x1ffff000: SeaBIOS keeps its ACPI tables
 * there.
 *	0x1f000000 VCLK: the precise page, QWordMemory, _HID AMZNC10C
 *	0x1f001000 the test mailbox (no device)
 *	0x1f002000 VCL2: a basic page, Memory32Fixed, matched by _CID VMCLOCK
 *	0x1f003000 VCL3: a page with a bad magic, which must not bind
 *	0x1f004000 VCL4: a precise page in UTC with tai_offset_sec +37
 *
 * Doorbell (notifies VCLK and VCL2: a notify without news is harmless, a
 * poller just sleeps on): QEMU's pc-testdev drives ISA IRQ N from I/O port 0x2000+N; the
 * host writes 1 then 0 to port 0x2003 over QMP, Linux's Generic Event
 * Device driver owns IRQ 3 (edge) and runs _EVT.  IRQs 5/9/10/11 are
 * level-triggered PCI link IRQs in QEMU's MADT and would not do.
 */
DefinitionBlock ("", "SSDT", 2, "VMCLK", "KMODE2E", 0x00000001)
{
    Scope (\_SB)
    {
        Device (VCLK)
        {
            Name (_HID, "AMZNC10C")
            Name (_CID, "VMCLOCK")
            Name (_UID, Zero)
            Method (_STA, 0, NotSerialized)
            {
                Return (0x0F)
            }
            Name (_CRS, ResourceTemplate ()
            {
                QWordMemory (ResourceConsumer, PosDecode, MinFixed, MaxFixed,
                    Cacheable, ReadOnly,
                    0x0000000000000000, 0x000000001F000000,
                    0x000000001F000FFF, 0x0000000000000000,
                    0x0000000000001000, ,, , AddressRangeMemory, TypeStatic)
            })
        }

        Device (VCL2)
        {
            Name (_HID, "VCLK0001")
            Name (_CID, "VMCLOCK")
            Name (_UID, One)
            Method (_STA, 0, NotSerialized)
            {
                Return (0x0F)
            }
            Name (_CRS, ResourceTemplate ()
            {
                Memory32Fixed (ReadOnly, 0x1F002000, 0x00001000, )
            })
        }

        Device (VCL3)
        {
            Name (_HID, "AMZNC10C")
            Name (_UID, 0x02)
            Method (_STA, 0, NotSerialized)
            {
                Return (0x0F)
            }
            Name (_CRS, ResourceTemplate ()
            {
                QWordMemory (ResourceConsumer, PosDecode, MinFixed, MaxFixed,
                    Cacheable, ReadOnly,
                    0x0000000000000000, 0x000000001F003000,
                    0x000000001F003FFF, 0x0000000000000000,
                    0x0000000000001000, ,, , AddressRangeMemory, TypeStatic)
            })
        }

        Device (VCL4)
        {
            Name (_HID, "AMZNC10C")
            Name (_UID, 0x03)
            Method (_STA, 0, NotSerialized)
            {
                Return (0x0F)
            }
            Name (_CRS, ResourceTemplate ()
            {
                Memory32Fixed (ReadOnly, 0x1F004000, 0x00001000, )
            })
        }

        Device (DBEL)
        {
            Name (_HID, "ACPI0013")
            Name (_UID, One)
            Method (_STA, 0, NotSerialized)
            {
                Return (0x0F)
            }
            Name (_CRS, ResourceTemplate ()
            {
                Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, )
                {
                    0x00000003,
                }
            })
            Method (_EVT, 1, Serialized)
            {
                Notify (\_SB.VCLK, 0x80)
                Notify (\_SB.VCL2, 0x80)
            }
        }
    }
}
