// The command lines of the load clients (bench/echo, bench/udp): pairs of
// "--name value", each value parsed into the variable its name is bound
// to; "--port P[,P2...]" fills a list of ports.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace bench {

class Flag {
 public:
  template <class T>
  Flag(const char* name, T& target) : name_(name), target_(&target) {}
  const char* name() const { return name_; }
  void set(const std::string& v) const {
    std::visit(
        [&](auto* t) {
          using T = std::remove_pointer_t<decltype(t)>;
          if constexpr (std::is_same_v<T, std::vector<int>>) {
            t->clear();
            for (std::size_t at = 0; at <= v.size();) {
              std::size_t comma = std::min(v.find(',', at), v.size());
              t->push_back(std::stoi(v.substr(at, comma - at)));
              at = comma + 1;
            }
          } else if constexpr (std::is_same_v<T, std::string>) {
            *t = v;
          } else if constexpr (std::is_same_v<T, double>) {
            *t = std::stod(v);
          } else {
            *t = static_cast<T>(std::stoll(v));
          }
        },
        target_);
  }

 private:
  const char* name_;
  std::variant<int*, unsigned*, long*, std::size_t*, double*, std::string*, std::vector<int>*>
      target_;
};

/// Sets each flag named in argv; an unknown name exits with status 2.
inline void parseFlags(int argc, char** argv, std::initializer_list<Flag> flags) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const Flag* match = nullptr;
    for (const Flag& f : flags) {
      if (std::strcmp(f.name(), argv[i]) == 0) match = &f;
    }
    if (!match) {
      std::fprintf(stderr, "load_client: unknown option %s\n", argv[i]);
      std::exit(2);
    }
    match->set(argv[i + 1]);
  }
}

/// True if `ports` is not empty and each is a port number.
inline bool validPorts(const std::vector<int>& ports) {
  if (ports.empty()) return false;
  for (int p : ports) {
    if (p <= 0 || p >= 65536) return false;
  }
  return true;
}

}  // namespace bench
