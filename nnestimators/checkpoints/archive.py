"""Checks of ``checkpoint.pt``'s zip archive, bounded by the file, before torch reads it.

``torch.save`` writes a zip archive of uncompressed members: one pickle
(``data.pkl``), a few small markers and one record per tensor storage. What
this module reads of a file is bounded by the file itself: the members must
be stored (never compressed), lie within the file, not overlap and have the
names torch gives them, each once; only then are their CRCs checked (one
pass over the file) and the pickle's opcodes scanned for the functions it
would call, which must be those the checkpoint writer's payload needs. A zip
bomb (thousands of directory entries pointing at one compressed member)
is refused from its directory alone, without decompressing a byte.
"""

import dataclasses
import errno
import pickletools
import re
import struct
import zipfile
import zlib

import torch

from .errors import CorruptCheckpointError

_ZIP_MAGIC = b"PK\x03\x04"
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # 30 bytes, as the zip format has it
_CHUNK = 1 << 20

# The members torch.save writes under its archive's folder, each at most once;
# "data/<n>" are the tensor storages.
_MARKERS = frozenset(
    {
        "data.pkl",
        "byteorder",
        "version",
        ".format_version",
        ".storage_alignment",
        ".data/version",
        ".data/serialization_id",
    }
)
_STORAGE = re.compile(r"data/[0-9]{1,12}")
_PREFIX = re.compile(r"[A-Za-z0-9_.-]{1,255}")


def _pickle_globals():
    """The functions and classes a checkpoint's pickle may name: those the
    payload of plain tensors (dense or sparse), dicts and numbers needs."""
    quantized = {
        torch.qint8,
        torch.quint8,
        torch.qint32,
        torch.quint4x2,
        torch.quint2x4,
    }
    storages = {
        name
        for dtype, name in torch.storage._dtype_to_storage_type_map().items()
        if dtype not in quantized
    }
    dtypes = {
        str(value).removeprefix("torch.")
        for value in vars(torch).values()
        if isinstance(value, torch.dtype) and value not in quantized
    }
    return frozenset(
        {
            "collections OrderedDict",
            "torch Size",
            "torch.storage UntypedStorage",
            "torch.serialization _get_layout",  # a sparse tensor's layout
            "torch._utils _rebuild_tensor_v2",
            "torch._utils _rebuild_tensor_v3",  # dtypes without a storage class
            "torch._utils _rebuild_parameter",
            "torch._utils _rebuild_sparse_tensor",
        }
        | {f"torch {name}" for name in storages | dtypes}
    )


@dataclasses.dataclass(frozen=True)
class ArchiveSize:
    """What a checked archive holds, the measure of what loading it may cost.

    Attributes
    ----------
    file : int
        Bytes of the whole file.
    pickle : int
        Bytes of its pickle (``data.pkl``).
    storages : int
        Bytes of its tensor storages, all records together.
    records : int
        How many storage records it holds.
    """

    file: int
    pickle: int
    storages: int
    records: int


def check_archive(file):
    """Check ``file`` as torch.save's zip archive before torch reads it.

    Returns its ``ArchiveSize``. Raises ``CorruptCheckpointError`` for a file
    that is empty, truncated, damaged, not a checkpoint at all (a text file
    saved under its name), or whose archive torch.save would never write
    (compressed, overlapping or duplicate members, other members, a pickle
    naming other functions).
    """
    with open(file, "rb") as stream:
        start = stream.read(len(_ZIP_MAGIC))
        if not start:
            raise CorruptCheckpointError(
                f"{file} is empty: it is corrupt or truncated (an interrupted copy?)."
            )
        if start != _ZIP_MAGIC:
            raise CorruptCheckpointError(
                f"{file} is not a checkpoint: nnestimators writes checkpoint.pt as "
                "the zip archive torch.save makes, and this file is not one (it "
                f"starts with {start!r}). It is corrupt, or another file saved under "
                "that name."
            )
        try:
            with zipfile.ZipFile(stream) as archive:
                size = _check_members(file, archive, stream)
                _check_crcs(file, archive)
                pickle = _read_member(archive, _member(archive, "data.pkl"))
        except CorruptCheckpointError:
            raise
        except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError) as exc:
            raise _truncated(file, exc) from None
        except zlib.error as exc:
            raise _truncated(file, exc) from None
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, None):
                raise  # a permission or I/O problem, not the file's content
            raise _truncated(file, exc) from None
    _check_pickle(file, pickle, size.records)
    return size


def _check_members(file, archive, stream):
    """Refuse what torch.save never writes, from the zip directory alone."""
    members = archive.infolist()
    stream.seek(0, 2)
    file_size = stream.tell()
    # The marks of a zip bomb first: one member's bytes under several entries.
    _check_unique(file, members)
    _check_apart(file, members, stream, file_size, archive.start_dir)
    _check_torch_members(file, members)
    names = [info.filename.partition("/")[2] for info in members]
    return ArchiveSize(
        file=file_size,
        pickle=_member(archive, "data.pkl").file_size,
        storages=sum(
            info.file_size
            for info, name in zip(members, names, strict=True)
            if name.startswith("data/")
        ),
        records=sum(name.startswith("data/") for name in names),
    )


def _check_unique(file, members):
    seen = set()
    for info in members:
        if info.filename in seen:
            raise _not_torch(file, f"it holds the member {info.filename!r} twice")
        seen.add(info.filename)


def _check_apart(file, members, stream, file_size, directory):
    """Members lie within the file, before its directory, and do not overlap."""
    spans = sorted(_span(stream, info, file_size) for info in members)
    ends = spans[1:] + [(directory, None, "the zip directory")]
    for (start, end, name), (next_start, _, next_name) in zip(spans, ends, strict=True):
        if end > next_start:
            within = sum(start <= other < end for other, _, _ in spans)
            raise _not_torch(
                file,
                f"its members {name!r} and {next_name!r} overlap ({within} "
                "directory entries point into the bytes of one member: a zip "
                "bomb repeats one member's bytes under several entries)",
            )


def _check_torch_members(file, members):
    """Members named as torch names them, stored as torch stores them."""
    prefixes = {info.filename.partition("/")[0] for info in members}
    if len(prefixes) != 1 or not _PREFIX.fullmatch(next(iter(prefixes))):
        raise _not_torch(file, "its members are not in one folder, as torch's are")
    for info in members:
        name = info.filename.partition("/")[2]
        if name not in _MARKERS and not _STORAGE.fullmatch(name):
            raise _not_torch(
                file, f"it holds a member {info.filename!r}, which torch never writes"
            )
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
            raise _not_torch(
                file,
                f"its member {info.filename!r} is compressed or encrypted (method "
                f"{info.compress_type}); torch stores members as they are",
            )
        if info.file_size != info.compress_size:
            raise _not_torch(
                file,
                f"its member {info.filename!r} declares {info.file_size} bytes "
                f"but holds {info.compress_size}",
            )
    if not any(info.filename.endswith("/data.pkl") for info in members):
        raise _not_torch(file, "it has no data.pkl")


def _span(stream, info, file_size):
    """Where a member's local header and data lie: (start, end, name)."""
    start = info.header_offset
    stream.seek(start)
    header = stream.read(_LOCAL_HEADER.size)
    if len(header) != _LOCAL_HEADER.size:
        raise EOFError(f"member {info.filename!r} lies beyond the end of the file")
    fields = _LOCAL_HEADER.unpack(header)
    if fields[0] != _ZIP_MAGIC:
        raise zipfile.BadZipFile(f"member {info.filename!r} has no local header")
    name_length, extra_length = fields[-2], fields[-1]
    end = start + _LOCAL_HEADER.size + name_length + extra_length + info.compress_size
    if end > file_size:
        raise EOFError(f"member {info.filename!r} lies beyond the end of the file")
    return start, end, info.filename


def _member(archive, name):
    return next(i for i in archive.infolist() if i.filename.partition("/")[2] == name)


def _check_crcs(file, archive):
    for info in archive.infolist():
        try:
            with archive.open(info) as member:
                while member.read(_CHUNK):
                    pass
        except zipfile.BadZipFile as exc:
            if "CRC" not in str(exc):
                raise
            raise CorruptCheckpointError(
                f"{file} is corrupt: its record {info.filename} fails its CRC check "
                "(a damaged disk, or a copy that changed in transfer). It is not "
                "loaded; use another copy, or train again."
            ) from None


def _read_member(archive, info):
    with archive.open(info) as member:
        return member.read(info.file_size)


def _check_pickle(file, pickle, records):
    """Refuse a pickle that names functions a checkpoint's payload never needs,
    or that refers to fewer storages than the archive holds records.

    torch's ``weights_only`` reader allows more (quantized, nested and meta
    tensors, tensor subclasses), some of which allocate the size a file
    declares; a checkpoint holds none of them.
    """
    references = 0
    try:
        for opcode, argument, _ in pickletools.genops(pickle):
            if opcode.name in ("GLOBAL", "INST"):
                if argument not in _ALLOWED_GLOBALS:
                    raise _unexpected_global(file, argument.replace(" ", ":"))
            elif opcode.name == "STACK_GLOBAL":
                raise _unexpected_global(file, "a name built on the pickle's stack")
            elif opcode.name in ("BINPERSID", "PERSID"):
                references += 1
    except (ValueError, struct.error) as exc:
        raise CorruptCheckpointError(
            f"{file} is corrupt: torch cannot read its content ({exc})."
        ) from None
    if records > references:
        raise _not_torch(
            file,
            f"it holds {records} tensor records, while its pickle refers to "
            f"storages {references} times (torch.save writes a record for each "
            "storage its pickle refers to, and no other)",
        )


def _unexpected_global(file, name):
    if name.startswith("torch"):
        return CorruptCheckpointError(
            f"{file} is not loaded: its pickle calls {name}, which builds a kind of "
            "tensor nnestimators checkpoints never hold (they hold plain tensors, "
            "dense or sparse). It is corrupt or was not written by nnestimators."
        )
    return CorruptCheckpointError(
        f"{file} holds Python objects other than tensors and plain values (it "
        f"names {name}). nnestimators checkpoints never do: the file is corrupt or "
        "was not written by nnestimators, and loading it could run code, so it is "
        "not loaded."
    )


def _not_torch(file, why):
    return CorruptCheckpointError(
        f"{file} is not loaded: {why}. torch.save never writes such an archive; it "
        "is corrupt or was crafted, and reading it could cost unbounded time or "
        "memory."
    )


def _truncated(file, exc):
    return CorruptCheckpointError(
        f"{file} is truncated or corrupt: its zip archive is incomplete or damaged "
        f"({type(exc).__name__}: {exc}). A copy or download may have been "
        "interrupted; use another copy, or train again."
    )


_ALLOWED_GLOBALS = _pickle_globals()
