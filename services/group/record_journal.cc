#include "services/group/record_journal.h"

// The SHA1_* functions rather than EVP_Digest: see spec/group_spec.cc.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <errno.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/atomic_file.h"

namespace infrakit::services::group {
namespace {

constexpr char kMagic[4] = {'I', 'K', 'J', '1'};
// magic, nonce, sequence, length, checksum.
constexpr size_t kHeaderSize = 4 + 8 + 8 + 4 + 8;
constexpr size_t kChecksumOffset = 4 + 8 + 8 + 4;

void PutLittleEndian(uint64_t v, int bytes, char* out) {
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

uint64_t GetLittleEndian(const char* in, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v |= static_cast<uint64_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  }
  return v;
}

// The first 8 bytes of the SHA-1 of the header's nonce, sequence and length (the 20 bytes after
// the magic) and the payload: a torn or stale entry fails it.
uint64_t Checksum(const char* header, absl::string_view payload) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA_CTX context;
  SHA1_Init(&context);
  SHA1_Update(&context, header + 4, kChecksumOffset - 4);
  SHA1_Update(&context, payload.data(), payload.size());
  SHA1_Final(digest, &context);
  return GetLittleEndian(reinterpret_cast<const char*>(digest), 8);
}

absl::Status Errno(int err, absl::string_view what, absl::string_view path) {
  return absl::ErrnoToStatus(err, absl::StrCat(what, " ", path));
}

// Writes all of `data` at `offset` (pwrite may write less than asked).
absl::Status PwriteAll(common::FileOps* ops, int fd, const char* data, size_t size, off_t offset,
                       const std::string& path) {
  while (size > 0) {
    const ssize_t n = ops->Pwrite(fd, data, size, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno(errno, "cannot write state journal", path);
    }
    data += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
  return absl::OkStatus();
}

}  // namespace

size_t RecordJournal::EntrySize(size_t payload_size) { return kHeaderSize + payload_size; }

absl::StatusOr<std::unique_ptr<RecordJournal>> RecordJournal::Create(const std::string& path,
                                                                     uint64_t nonce,
                                                                     size_t capacity,
                                                                     common::FileOps* ops) {
  const int fd = ops->Open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Errno(errno, "cannot create state journal", path);
  // Written, not allocated (fallocate): blocks allocated unwritten would be converted at their
  // first write, a metadata change that each entry's flush would then carry.
  const std::vector<char> zeros(capacity, 0);
  absl::Status st = PwriteAll(ops, fd, zeros.data(), zeros.size(), 0, path);
  if (st.ok() && ops->Fsync(fd) != 0) st = Errno(errno, "cannot flush state journal", path);
  if (!st.ok()) {
    ops->Close(fd);
    ops->Unlink(path.c_str());
    return st;
  }
  return std::unique_ptr<RecordJournal>(new RecordJournal(path, fd, nonce, capacity, ops));
}

absl::StatusOr<std::optional<std::string>> RecordJournal::ReadLatest(const std::string& path,
                                                                     uint64_t nonce) {
  absl::StatusOr<std::string> text = common::ReadFile(path);
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) return std::optional<std::string>();
    return text.status();
  }
  std::optional<std::string> latest;
  size_t at = 0;
  for (uint64_t sequence = 1;; ++sequence) {
    if (text->size() - at < kHeaderSize) break;
    const char* h = text->data() + at;
    if (std::memcmp(h, kMagic, sizeof(kMagic)) != 0) break;
    if (GetLittleEndian(h + 4, 8) != nonce || GetLittleEndian(h + 12, 8) != sequence) break;
    const size_t length = GetLittleEndian(h + 20, 4);
    if (text->size() - at - kHeaderSize < length) break;
    absl::string_view payload(h + kHeaderSize, length);
    if (GetLittleEndian(h + kChecksumOffset, 8) != Checksum(h, payload)) break;
    latest = std::string(payload);
    at += kHeaderSize + length;
  }
  return latest;
}

// Every entry was flushed when written: nothing a close could report is news (and a crash test
// counts only the calls that write).
RecordJournal::~RecordJournal() { close(fd_); }

bool RecordJournal::Fits(size_t payload_size) const {
  return payload_size <= UINT32_MAX &&
         static_cast<size_t>(end_) + EntrySize(payload_size) <= capacity_;
}

absl::Status RecordJournal::Append(absl::string_view payload) {
  if (!Fits(payload.size())) {
    return absl::FailedPreconditionError(
        absl::StrCat("state journal ", path_, " has no room for ", payload.size(), " bytes"));
  }
  std::string entry(EntrySize(payload.size()), '\0');
  char* h = entry.data();
  std::memcpy(h, kMagic, sizeof(kMagic));
  PutLittleEndian(nonce_, 8, h + 4);
  PutLittleEndian(next_sequence_, 8, h + 12);
  PutLittleEndian(payload.size(), 4, h + 20);
  PutLittleEndian(Checksum(h, payload), 8, h + kChecksumOffset);
  std::memcpy(h + kHeaderSize, payload.data(), payload.size());
  if (absl::Status st = PwriteAll(ops_, fd_, entry.data(), entry.size(), end_, path_); !st.ok()) {
    return st;
  }
  if (ops_->Fdatasync(fd_) != 0) return Errno(errno, "cannot flush state journal", path_);
  end_ += static_cast<off_t>(entry.size());
  ++next_sequence_;
  return absl::OkStatus();
}

}  // namespace infrakit::services::group
