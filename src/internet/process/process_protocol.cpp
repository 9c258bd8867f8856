// ProcessProtocol's defaults (twisted/internet/process.hpp) and ChildFD.
#include <stdexcept>
#include <string>

#include "twisted/internet/process.hpp"

namespace twisted {

ChildFD::ChildFD(const char* kind) {
  std::string k = kind ? kind : "";
  if (k == "r") {
    kind_ = Kind::Read;
  } else if (k == "w") {
    kind_ = Kind::Write;
  } else {
    throw std::invalid_argument("childFDs: '" + k +
                                "' is not \"r\", \"w\" or a descriptor of this process");
  }
}

void ProcessProtocol::makeConnection(std::shared_ptr<IProcessTransport> process) {
  transport = std::move(process);
  connectionMade();
}

void ProcessProtocol::childDataReceived(int childFD, std::string_view data) {
  if (childFD == 1) {
    outReceived(data);
  } else if (childFD == 2) {
    errReceived(data);
  }
}

void ProcessProtocol::childConnectionLost(int childFD) {
  if (childFD == 0) {
    inConnectionLost();
  } else if (childFD == 1) {
    outConnectionLost();
  } else if (childFD == 2) {
    errConnectionLost();
  }
}

}  // namespace twisted
