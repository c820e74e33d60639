//! Payroll: employees, what they are paid (components, structures, assignments, additional
//! pay), the statutory rule sets, and pay runs with their payslips.

pub mod additional_pay;
pub mod employee;
pub mod pay_component;
pub mod pay_run;
pub mod payslip;
pub mod rule_set;
pub mod salary_assignment;
pub mod salary_structure;
