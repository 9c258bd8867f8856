#include "twisted/python/failure.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace twisted {

Failure::Failure(std::exception_ptr exception) : exception_(std::move(exception)) {
  if (!exception_) throw std::invalid_argument("Failure needs an exception");
}

Failure Failure::current() {
  return Failure(std::current_exception());
}

void Failure::raiseException() const {
  std::rethrow_exception(exception_);
}

std::string Failure::getErrorMessage() const {
  try {
    std::rethrow_exception(exception_);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "exception of type " + typeName();
  }
}

std::string Failure::typeName() const {
  // libstdc++ knows the dynamic type of the object behind an exception_ptr
  // without rethrowing it.
  const std::type_info* type = exception_.__cxa_exception_type();
  return type ? demangle(type->name()) : std::string("unknown");
}

#if defined(__GLIBCXX__)
bool Failure::matchesType(const std::type_info& type) const {
  const std::type_info* thrown = exception_.__cxa_exception_type();
  if (!thrown) return false;
  if (*thrown == type) return true;
  // libstdc++'s exception_ptr holds a pointer to the thrown object; the
  // runtime's own catch matching (__do_catch) may adjust it while walking
  // the bases, so hand it a copy.
  void* object = *reinterpret_cast<void* const*>(&exception_);
  return type.__do_catch(thrown, &object, 1);
}
#endif

std::string Failure::brief() const {
  return typeName() + ": " + getErrorMessage();
}

std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  return status == 0 && out ? std::string(out.get()) : std::string(mangled);
}

}  // namespace twisted
